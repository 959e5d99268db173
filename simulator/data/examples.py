"""The people and identifiers the spec's own request examples name, seeded into every hospital.

Every identifier in a `direction: his` request example must lead to a real record, so that each
example request gets a successful answer from every simulated hospital.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class ExamplePerson:
    name: str
    sex: str
    birthdate: date
    id_card: str
    phone: str
    address: str
    cards: tuple[str, ...]
    spec_placeholders: tuple[str, ...] = ()
    """Numbers the spec's request examples write where a card goes ("253", "123", "用户卡号"): the simulator answers
    them as this person's card so each example gets a reply, but no card list shows them (issue 12 item 15)."""


# 张三 is the spec's example patient; the other cards/ids in request examples are his too unless
# the example names another person with them.
ZHANG_SAN = ExamplePerson(
    name="张三",
    sex="男",
    birthdate=date(1979, 7, 2),
    id_card="370102197907025236",
    phone="13526521254",
    address="山东省济南市高新区",
    cards=("001000056254587", "0095657515", "0012376532"),
    spec_placeholders=("253", "123", "用户卡号"),
)
WANG_ZHEN = ExamplePerson(
    "王震", "男", date(2000, 1, 1), "370101200001010001", "13805310001", "山东省济南市历下区经十路88号", ("11009009",)
)
OTHER_EXAMPLE_PEOPLE = (
    WANG_ZHEN,
    ExamplePerson(
        "张三",
        "女",
        date(1995, 5, 21),
        "110101199505211144",
        "13911052111",
        "北京市东城区和平里街道",
        ("001000056254600",),
    ),
    ExamplePerson(
        "张亖",
        "男",
        date(2020, 8, 22),
        "110101202008227457",
        "13899999999",
        "山东省济南市市中区舜耕路12号",
        ("001000005182624", "001002323222", "001000005203724"),
    ),
    ExamplePerson(
        "曹策",
        "男",
        date(1990, 3, 7),
        "371625199003076437",
        "15166083421",
        "山东省菏泽市曹县青菏路6号",
        ("001000005190095",),
    ),
    ExamplePerson(
        "刘淑珍",
        "女",
        date(1956, 5, 31),
        "231004195605310928",
        "13604531928",
        "黑龙江省牡丹江市东安区",
        ("001000005190311",),
    ),
)

# Time windows used by list queries in the examples: the example people have records in each.
EXAMPLE_ANCHORS = (
    datetime(2018, 1, 2, 9, 30, 0),  # 16.1.1, 17.1.1, 18.1.1, 18.1.2, 41.1.1
    datetime(2019, 4, 2, 10, 15, 0),  # 14.2.1, 25.1.2
    datetime(2019, 6, 25, 20, 8, 9),  # 30.1.x, 31.1.1
    datetime(2019, 9, 18, 10, 44, 36),  # 22.1.x
    datetime(2020, 5, 7, 9, 20, 0),  # 6.2.1, 6.2.3
    datetime(2020, 12, 30, 18, 20, 20),  # 32.1.1, 38.1.1
    datetime(2021, 7, 21, 13, 25, 26),  # 19.2.x
    datetime(2022, 1, 7, 18, 20, 20),  # 40.1.1
)

# 张三's identifiers named by request examples.
PENDING_PAYABLE = (  # 3.1.2 pays 001-004: 120 online + 30 from the card balance
    ("001", "阿莫西林胶囊", Decimal("10.50"), 2, "盒", "28712312"),
    ("002", "布洛芬缓释胶囊", Decimal("15.80"), 1, "盒", "28712312"),
    ("003", "血细胞分析", Decimal("18.00"), 1, "次", "28712313"),
    ("004", "胸部正位片(DR)", Decimal("95.20"), 1, "次", "28712313"),
)
PENDING_OTHER = (
    ("1113", "维生素B2片", Decimal("2.50"), 1, "瓶", "28712314"),
    ("1114", "阿莫西林胶囊", Decimal("10.50"), 2, "盒", "28712314"),
    ("253", "头孢克肟分散片", Decimal("28.60"), 1, "盒", "28712315"),  # 5.1.1 detailIds
)
RECHARGES = (
    ("JZKCZ-SCXRMYY-18062229055", Decimal("100.00"), Decimal("50.00")),
    ("JZKCZ-SCXRMYY-18062229056", Decimal("20.00"), Decimal("10.04")),
)
CARD_REFUND_NO = "RE202006231344002095"
ADMISSION_NUMBER = "060508"
STAY_ID = "256525644"
STAY_ALIASES = ("293502", "1112212")
REPORT_IDS = {"lab": "1001", "pacs": "1001", "exam": "1001", "ecg": "1001", "pathology": "1001"}
PACS_DCM_REPORT_ID = "256525452"
DCM_IDS = ("23231add212ad12dada21", "26113aadd212ad12dada2")
VISIT_ID = "1001"
INVOICE_IDS = ("2565424651", "107266155", "107266156", "107266157")
TODAY_REGISTER_ID = "d6deb60352044472895a6d48172de9e4"
HIS_REGISTRATION_ID = "U0107511"
APPOINTMENT_RECORD_ID = "d6deb60352044172895a6d48172de9e4"

# (dept id, dept name, address, doctor id, doctor name, title, reg class id, reg class name, fee)
EXAMPLE_DOCTORS = (
    ("0235", "消化内科", "门诊楼3楼", "652652", "华佗", "主任医师", "256525", "专家号", Decimal("25")),
    ("5262", "心内科", "门诊楼5楼", "326523", "孙孚凌", "主任医师", "256525", "专家号", Decimal("25")),
    ("5262", "心内科", "门诊楼5楼", "2003", "江秀丽", "副主任医师", "256526", "专家号", Decimal("18")),
    ("228", "疼痛科", "外科楼3楼", "511", "华佗", "主任医师", "1082-286968", "专家号", Decimal("23")),
    ("2312", "骨科", "门诊楼4楼", "3312", "张仲景", "副主任医师", "2312-01", "专家号", Decimal("12")),
    ("0256", "神经内科", "门诊楼2楼", "256654", "扁鹊", "主任医师", "0256-01", "专家号", Decimal("16")),
    ("3", "呼吸内科", "门诊楼3楼", "2298", "孙思邈", "主治医师", "3-01", "普通号", Decimal("10")),
)
