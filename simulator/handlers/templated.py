"""Methods answered from the spec's own response example, filled from the data model and the request.

These have no domain handler of their own yet: the reply checks the card, applies a write once per
identifier, and echoes the ids asked for (see ``template.default_handler``). Each is listed by name so
that what the simulator serves, and how, is read here rather than guessed.
"""

from __future__ import annotations

from simulator.handlers import HANDLERS
from simulator.handlers.template import default_handler

TEMPLATED_METHODS = (
    "hospital.interface.createCardContacts",  # 1.2.3 添加联系人
    "hospital.interface.updateHisPatientInfo",  # 1.2.4 修改院内患者信息
    "hospital.interface.queryGuideSheet",  # 4.1.1 门诊导引单信息查询
    "hospital.interface.medicalInsurance.createOrder",  # 5.1.1 生成订单
    "hospital.interface.medicalInsurance.settle",  # 5.1.2 医保结算
    "hospital.interface.medicalInsurance.cancelOrder",  # 5.1.3 撤销订单
    "hospital.interface.medicalInsurance.paySuccess",  # 5.1.4 支付成功通知
    "hospital.interface.medicalInsurance.queryUnfinishedOrders",  # 5.1.5 未完成订单查询接口
    "hospital.interface.medicalInsurance.queryOrderState",  # 5.1.6 查询订单状态是否可退
    "hospital.interface.queryMedicalInsuranceOrder",  # 6.2.1 诊间医保-自费部分订单查询
    "hospital.interface.queryMedicalInsuranceOrderDetail",  # 6.2.2 诊间医保-自费部分订单明细查询
    "hospital.interface.queryReimbursement",  # 6.2.3 诊间医保-报销记录信息查询
    "hospital.interface.queryReimbursementDetail",  # 6.2.4 诊间医保-报销明细信息查询
    "hospital.interface.medicalInsurancePayment",  # 6.2.5 诊间医保-自费部分支付成功通知
    "hospital.interface.getClinicDoctors",  # 15.1.1 查询当前允许分诊的科室信息
    "hospital.interface.triage",  # 15.1.2 分诊登记
    "hospital.interface.queryLineInfo",  # 15.1.3 查询排队信息
    "hospital.interface.pacsReportDcmFile",  # 16.1.4 获取PACS影像dcm文件流
    "hospital.interface.hisSubsequentVisitPatient",  # 19.2.1 His患者复诊提醒（定时任务模式）
    "hospital.interface.physicalSubsequentVisitPatient",  # 19.2.2 体检患者复诊提醒
    "hospital.interface.todayRegisterGetDeptLimit",  # 20.1.5 查询科室挂号限制接口
    "hospital.interface.todayRegisterGetDiscount",  # 20.1.6 查询患者优惠信息接口
    "hospital.interface.querySurcharge",  # 21.2.5 查询附加费接口
    "hospital.interface.satisfactionSurveyAfterDiagnosis_outaptient",  # 22.1.1 获取符合条件的门诊用户
    "hospital.interface.satisfactionSurveyAfterDiagnosis_inpateint",  # 22.1.2 获取符合条件的出院用户
    "hospital.interface.inhospitalEducation.getList",  # 23.1.1 获取宣教信息列表
    "hospital.interface.inhospitalEducation.getDetailById",  # 23.1.2 获取某次宣教详情
    "hospital.interface.inhospitalEducation.sign",  # 23.1.3 患者签名
    "hospital.interface.admissionGuide.getAdmissionGuideById",  # 23.1.4 获取住院须知
    "hospital.interface.appointment.getBookableProject",  # 24.1.1 患者可预约项目信息查询
    "hospital.interface.appointment.getPlanDataOfWeek",  # 24.1.2 查询某一项目可预约诊室
    "hospital.interface.appointment.getPlanDataOfDay",  # 24.1.3 查询某一天某一检查室可预约时间段
    "hospital.interface.appointment.regSchedule",  # 24.1.4 执行预约
    "hospital.interface.appointment.getScheduleInfo",  # 24.1.5 获取已预约项目
    "hospital.interface.appointment.cancelSchedule",  # 24.1.6 用户取消已预约项目
    "hospital.interface.appointment.changeSchedule",  # 24.1.7 执行改约项目
    "hospital.interface.appointment.register",  # 24.1.8 执行登记
    "hospital.inerface.internetHospital.save",  # 25.1.1 同步患者支付信息
    "hospital.inerface.internetHospital.queryVisitedDoctorData",  # 25.1.2 查询患者就诊过的医生列表信息
    "hospital.inerface.internetHospital.queryHospitalDrugCharge",  # 25.1.3 查询医院可线上销售药品目录
    "hospital.inerface.internetHospital.queryHospitalLisCharge",  # 25.1.4 查询医院开放的检验销售目录
    "hospital.inerface.internetHospital.queryHospitalPacsCharge",  # 25.1.5 查询医院开放的检查销售目录
    "hospital.inerface.internetHospital.queryHospitalSingleCharge",  # 25.1.6 获取单个项目价格
    "hospital.inerface.internetHospital.saveConsultInfo",  # 25.1.7 同步患者问诊信息
    "hospital.interface.appointment.getPacsContentList",  # 26.1.1 查询患者当前排队列表（多科室/诊室）
    "hospital.interface.medicalRecordInsertOrder",  # 27.1.2 向院内写入支付信息
    "hospital.interface.physical.getPackageList",  # 28.1.1 套餐列表
    "hospital.interface.physical.getPackageDetailList",  # 28.1.2 套餐项目明细
    "hospital.interface.physical.getTjBookingTime",  # 28.1.3 余号查询
    "hospital.interface.physical.getPhysicalRemain",  # 28.1.4 查询某天的可预约时间
    "hospital.interface.physical.hasAppointByDate",  # 28.1.5 查询某天是否已经预约过
    "hospital.interface.physical.createTjPersonInfo",  # 28.1.6 创建预约记录
    "hospital.interface.physical.cancelTjPersonInfo",  # 28.1.7 取消预约
    "hospital.interface.physical.getTjRegisterFlag",  # 28.1.8 获取体检预约登记状态
    "hospital.interface.physical.getNotice",  # 28.1.9 体检须知
    "hospital.interface.physical.getOrgReg",  # 28.1.10 单位预约信息查询
    "hospital.interface.physical.getOrgGroup",  # 28.1.11 单位分组查询
    "hospital.interface.physical.getOrgGroupComb",  # 28.1.12 单位分组项目信息查询
    "hospital.interface.physical.getItemList",  # 28.1.13 体检项目列表查询
    "hospital.interface.selfPrescription.getSelfHisChargeList",  # 29.1.1 获取套餐项目列表
    "hospital.interface.selfPrescription.selfAppointmentDate",  # 29.1.2 获取可预约日期
    "hospital.interface.selfPrescription.saveSelfPrescription",  # 29.1.3 保存自选套餐数据
    "hospital.interface.selfPrescription.cancelSelfPrescription",  # 29.1.4 取消自选套餐预约
    "hospital.interface.hospitalStatistics",  # 30.1.2 根据时间查询各医院交易数量
    "hospital.interface.projectAppt.getProjectSchedule",  # 33.1.1 获取可预约检验项目列表
    "hospital.interface.projectAppt.getNumberSource",  # 33.1.2 获取可预约日期剩余号源
    "hospital.interface.projectAppt.payToHis",  # 33.1.4 预约支付
    "hospital.interface.projectAppt.cancelAppt",  # 33.1.5 取消预约的项目
    "hospital.interface.getRecentNucleicAcidTestResult",  # 34.1.1 获取最近一次核酸检测结果信息
    "hospital.interface.getApplicationHospitalInformation",  # 36.1.1 获取入院申请信息
    "hospital.interface.execInHospitalPatsSave",  # 36.1.2 入院申请保存接口
    "hospital.interface.getCaregiversInfo",  # 37.1.1 获取院内电子陪护证信息
    "hospital.interface.addCaregivers",  # 37.1.3 新增电子陪护证信息
    "hospital.interface.getDrugExplanatoryMemorandum",  # 38.1.3 根据药品唯一索引获取药品说明书信息
    "hospital.interface.getAppointmentDoctors",  # 42.1.1 查询院内已预约项目
    "hospital.interface.appointmentTriage",  # 42.1.2 预约签到分诊
    "hospital.interface.appointmentQueryLineInfo",  # 42.1.3 查询预约签到排队信息
    "hospital.interface.getFeverClinicWaitingList",  # 43.1.1 发热门诊排队查询接口
)

for _method in TEMPLATED_METHODS:
    # A domain module that has learnt to answer a method for real takes precedence.
    HANDLERS.setdefault(_method, default_handler)
