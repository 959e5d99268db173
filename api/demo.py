"""The demo region: the gateway in front of the simulated hospitals, on an embedded SQLite file."""

from __future__ import annotations

from his_clients.registry import Endpoint, Hospital, Registry

DEMO_HOSPITALS = {
    "253": "济南市第一人民医院",
    "254": "济南市中心医院",
    "255": "山东省立第三医院",
    "256": "平阴县人民医院",
    "257": "平阴县中医医院",
}
STANDALONE = ("253", "254", "255")
REGIONAL = ("256", "257")

SAMPLE_QUERY = """\
{
  hospitals { id name regional }
  patient(medicalCardNumber: "001000056254587") {
    pendingPayments(hospitalId: "253,254,255,256,257") {
      hospitalId
      hospital { name }
      totalAmount
      items { name quantity unit amount }
    }
  }
}"""


def simulated_region(simulator_base_url: str, *, timeout_s: float = 3.0) -> Registry:
    """The registry for a simulator at ``simulator_base_url`` (hisgraph simulate's default layout)."""
    base = simulator_base_url.rstrip("/")
    # The simulated hospitals serve report PDFs and images from the simulator itself.
    file_hosts = (base.split("://", 1)[-1],)
    hospitals = [
        Hospital(
            id=h,
            name=DEMO_HOSPITALS[h],
            region="济南市",
            base_url=f"{base}/his/{h}",
            timeout_s=timeout_s,
            file_hosts=file_hosts,
        )
        for h in STANDALONE
    ]
    hospitals += [
        Hospital(
            id=h,
            name=DEMO_HOSPITALS[h],
            region="平阴县",
            endpoint="pingyin",
            timeout_s=timeout_s,
            file_hosts=file_hosts,
        )
        for h in REGIONAL
    ]
    endpoint = Endpoint(id="pingyin", name="平阴县区域HIS", base_url=f"{base}/regional", timeout_s=timeout_s)
    return Registry(hospitals=tuple(hospitals), endpoints=(endpoint,))
