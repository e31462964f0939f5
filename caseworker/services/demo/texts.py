# ruff: noqa: E501  (the corpus: long Chinese sentences read better unbroken)
"""The demo corpus: message and reply templates for the seven first-level categories.

A message is an opening, one to four facts, an ask and a closing, with places, numbers and
names drawn per case, so two thousand messages do not read as copies. Each topic's reply
sentences speak to the same facts and ask (the same estate, road and figures), as a real
reply must answer every point. Every place is invented (江南省 and its cities); phone numbers
are masked with the middle digits hidden and the last four 00xx, and hotline numbers use the
reserved-looking 0000-5550xxxx form, so nothing can reach a real person.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

CATEGORIES = (
    "城乡建设",
    "环境保护",
    "交通运输",
    "教育文体",
    "劳动和社会保障",
    "商贸旅游",
    "卫生计生",
)


@dataclass(frozen=True)
class Topic:
    """One kind of problem citizens write about, with what a unit answers to it."""

    key: str
    category: str
    sub: str  # second-level class, shown beside the category
    depts: tuple[str, ...]  # short department names that lead such cases (first most often)
    kinds: tuple[str, ...]
    titles: tuple[str, ...]
    facts: tuple[str, ...]  # the first is always used, the rest by chance, in order
    asks: tuple[str, ...]
    findings: tuple[str, ...]
    measures: tuple[str, ...]
    outcome: str = "支持"
    urgent_share: float = 0.0
    # Other ways to state the first fact, in other citizens' voices (one is drawn in its place).
    leads: tuple[str, ...] = ()


TOPICS: tuple[Topic, ...] = (
    # ------------------------------------------------------------------ 城乡建设
    Topic(
        "leaking-flat",
        "城乡建设",
        "房屋质量",
        ("住建局",),
        ("complaint", "help"),
        (
            "{estate}新房交付不到一年外墙渗水",
            "{estate}{n}栋楼顶漏水多次报修无果",
            "{estate}房屋渗水开发商拖着不修",
        ),
        (
            "我家住{district}{estate}{n}栋，去年交房，今年入夏以来外墙和窗台多处渗水，墙面发霉，"
            "木地板泡坏了{n2}块。",
            "已经向开发商和物业报修{n}次，每次都说要等维修基金审批，拖了{months}个月没有人来。",
            "同一栋楼还有十几户情况一样，下雨天只能拿盆接水。",
            "物业给的说法是“质保期内找开发商”，开发商又说“找物业”，互相推诿。",
        ),
        (
            "请住建部门督促开发商履行保修责任，尽快上门维修。",
            "想问一下保修期内外墙渗水到底应该由谁负责维修？请给个明确说法。",
        ),
        (
            "经{unit}工作人员现场核查，{estate}{n}栋外墙确有渗水点{n2}处，属保修期内的质量问题。",
            "我局调阅了该项目竣工验收资料，{estate}{n}栋于交付时外墙防水已纳入保修范围。",
        ),
        (
            "根据《建设工程质量管理条例》，保修期内的渗漏问题由建设单位负责维修，费用不得向业主收取；",
            "我局已约谈开发建设单位，责令其在{deadline}日内完成外墙防水修复，并对同楼其他住户逐户排查；",
            "维修完成后将组织业主代表共同验收。",
        ),
    ),
    Topic(
        "property-certificate",
        "城乡建设",
        "不动产登记",
        ("自然资源局", "住建局"),
        ("complaint", "help", "inquiry"),
        (
            "{estate}交房{years}年还办不了不动产权证",
            "购房{years}年房产证仍无着落",
            "{estate}业主办证难问题",
        ),
        (
            "我于{year}年在{district}{estate}购买商品房，合同约定交房后两年内办证，现在已经{years}年了，"
            "开发商一直说土地手续没办完。",
            "孩子明年上小学、老人落户都需要房产证，我们非常着急。",
            "小区{hundreds}多户业主都是这种情况，找过开发商很多次，都没有下文。",
        ),
        (
            "请相关部门查明原因，督促开发商尽快为业主办理不动产权证。",
            "请问像我们这种情况，业主自己能不能先去申请办证？",
        ),
        ("经查，{estate}项目因开发企业欠缴部分土地出让金，首次登记一直未能办理。",),
        (
            "{unit}已会同住建部门约谈开发企业，企业已补缴欠款，项目首次登记已受理；",
            "预计{weeks}周内可启动分户转移登记，业主届时携带购房合同、身份证到{district}不动产登记中心"
            "窗口申请即可，无需另行缴费；",
            "对孩子入学急需用证的家庭，可先凭购房合同和登记受理回执办理入学手续。",
        ),
    ),
    Topic(
        "mud-road",
        "城乡建设",
        "农村道路",
        ("住建局", "交通运输局", "街道办"),
        ("help", "suggestion"),
        (
            "{village}通组公路一下雨就是泥巴路",
            "请求硬化{village}进村道路",
            "{town}{village}道路坑洼难行",
        ),
        (
            "{town}{village}到镇上的{hundreds}米通组路至今还是土路，一下雨全是烂泥，电动车都骑不了。",
            "村里的孩子上学要绕路半个多小时，老人去卫生院看病也不方便。",
            "去年村里开会说要修，到现在也没动静。",
        ),
        ("希望政府将这段路纳入硬化计划，早日修好。", "请问这段路什么时候能够硬化？"),
        ("经{unit}实地查看，{village}该段道路长约{hundreds}米，路基已基本稳定。",),
        (
            "该路段已列入今年农村公路提质改造计划，计划于{month}月开工硬化，工期约{weeks}周；",
            "开工前由{town}先行对最严重的{n}处坑洼填补碎石，保障群众雨天出行；",
            "施工期间请村民注意出行安全。",
        ),
    ),
    Topic(
        "street-light",
        "城乡建设",
        "市政设施",
        ("城管执法", "街道办"),
        ("complaint", "help"),
        ("{road}路灯坏了{weeks}周没人修", "{district}{road}夜间一片漆黑", "{estate}门口路灯不亮"),
        (
            "{district}{road}从{road2}路口到{estate}门口约{hundreds}米的路灯已经坏了{weeks}周，"
            "晚上漆黑一片。",
            "前几天还有一位老人晚上散步摔倒，住了院。",
            "打过{n}次电话，每次都说“已登记”，就是没人来修。",
        ),
        ("请尽快维修路灯，保障居民夜间出行安全。",),
        ("接到交办后，{unit}次日即安排人员对{road}路灯线路排查，确认为地下电缆老化短路。",),
        (
            "已更换电缆{n}处，该路段{n2}盏路灯目前已全部恢复照明；",
            "已将该路段纳入夜间巡查范围，今后如发现路灯故障可直接拨打0000-5550{tail}报修。",
        ),
    ),
    Topic(
        "low-voltage",
        "城乡建设",
        "供电",
        ("供电公司",),
        ("complaint", "help"),
        (
            "{village}电压太低空调带不动",
            "{town}{village}夏季频繁停电",
            "{town}农村电压不稳请求改造",
        ),
        (
            "{town}{village}一到晚上用电高峰，电压只有一百七八十伏，空调、冰箱都启动不了。",
            "这个夏天已经停电{n}次，家里的老人热得受不了。",
            "村里的变压器还是二十多年前装的，户数多了好几倍。",
        ),
        ("请供电公司尽快对{village}的线路和变压器进行改造。",),
        ("经{unit}现场测量，{village}{n}组末端用户晚高峰电压约175伏，低于国家标准。",),
        (
            "已于{month}月将该台区列入农网改造项目，新增一台400千伏安变压器，并更换低压线路{hundreds}米；",
            "改造期间将提前三天张贴停电公告；改造完成前已调整负荷分配，保障基本用电。",
        ),
    ),
    Topic(
        "fire-hazard",
        "城乡建设",
        "消防安全",
        ("街道办", "城管执法"),
        ("complaint", "suggestion"),
        (
            "{estate}楼道堆放杂物存在消防隐患",
            "{estate}电动车楼道充电太危险",
            "{estate}消防通道长期被占",
        ),
        (
            "{district}{estate}{n}栋的楼道里堆满了纸箱、旧家具，还有人把电动车推进楼道充电。",
            "消防通道也常年被私家车占着，万一起火消防车根本进不来。",
            "跟物业说过好几次，物业说他们没有执法权。",
        ),
        ("请相关部门督促物业清理楼道杂物，规范电动车充电。",),
        (
            "{unit}会同社区、物业于接件后两日内对{estate}进行了全面检查，确认{n}栋等{n2}个楼道存在堆物和"
            "飞线充电现象。",
        ),
        (
            "已督促物业清理楼道杂物{n}车，拆除飞线{n2}处；",
            "小区内已规划集中充电点，新增充电桩{hundreds}个，并在消防通道施划禁停标线；",
            "社区将每月组织一次消防安全检查。",
        ),
    ),
    # ------------------------------------------------------------------ 环境保护
    Topic(
        "night-construction",
        "环境保护",
        "噪声污染",
        ("生态环境局", "城管执法"),
        ("complaint",),
        ("{road}工地夜间施工噪音扰民", "{estate}旁工地通宵作业", "投诉{estate}附近工地半夜打桩"),
        (
            "{estate}旁边的工地每天晚上十点以后还在打桩、浇筑混凝土，一直到凌晨两三点。",
            "家里有高三学生和{n}个月大的孩子，已经连续{weeks}周没有睡过一个安稳觉。",
            "打过{n2}次电话，执法人员来了就停，走了又开工。",
        ),
        ("请依法查处夜间违规施工。", "请问这个工地有没有夜间施工许可？"),
        ("经{unit}执法人员夜间突击检查，该工地确有未取得夜间施工许可擅自作业的情况。",),
        (
            "已依法立案调查，责令施工单位立即停止夜间作业；",
            "确因工艺需要连续浇筑的，须提前三日公示并告知周边居民；",
            "今后如再发现夜间施工，可拨打0000-5550{tail}举报，执法人员将到场处理。",
        ),
    ),
    Topic(
        "school-loudspeaker",
        "环境保护",
        "噪声污染",
        ("教育局", "生态环境局"),
        ("complaint", "suggestion"),
        (
            "{school}广播喇叭声音太大",
            "{school}早上六点半就放广播",
            "{school}喇叭噪音影响{estate}居民",
        ),
        (
            "{district}{school}每天早上六点半就开始放广播，跑操口令和音乐声音非常大。",
            "我们小区离学校只有一墙之隔，上夜班的人白天也没法休息。",
            "周末学校补课也照样放。",
        ),
        ("希望学校调小音量、调整喇叭朝向。",),
        (
            "{unit}会同生态环境部门于{month}月对{school}广播噪声进行了监测，昼间最高值超过标准{n}分贝。",
        ),
        (
            "学校已将室外喇叭由{n2}个减为{n}个，朝向调整为背离居民区，并加装限音器；",
            "晨练广播推迟至七点后开始，周末不再使用室外广播。",
        ),
    ),
    Topic(
        "pond-rubbish",
        "环境保护",
        "水污染",
        ("生态环境局", "街道办"),
        ("complaint", "help"),
        ("{village}池塘被暴雨冲来的垃圾堆满", "{village}村口池塘发臭", "暴雨后{village}垃圾成堆"),
        (
            "前天暴雨后，上游冲下来的生活垃圾、塑料瓶堆满了{village}村口的池塘，现在天热已经发臭。",
            "池塘边就是村里的小学，孩子们每天都从这里过。",
            "我拍了视频发在抖音上，很多人都在问什么时候清理。",
        ),
        ("请尽快组织清理，并查明垃圾来源。",),
        ("接到交办后，{town}当天即组织人员赶到现场，确认垃圾主要来自上游沟渠两侧的临时堆放点。",),
        (
            "当天下午共组织{n}名保洁人员、{n2}台清运车辆，清运垃圾约{n}吨；",
            "已在上游沟渠设置拦污网，并取缔临时垃圾堆放点{n2}处；",
            "今后汛期将安排专人每日巡查。",
        ),
        urgent_share=0.3,
    ),
    Topic(
        "restaurant-fumes",
        "环境保护",
        "大气污染",
        ("城管执法", "生态环境局"),
        ("complaint",),
        ("{estate}楼下餐馆油烟直排", "{road}烧烤店油烟熏人", "{estate}餐饮油烟扰民请求整治"),
        (
            "{estate}{n}栋楼下新开了一家烧烤店，油烟直接排到楼上，窗户都不敢开。",
            "每天营业到凌晨两点，食客喧哗声也很大。",
            "住在{n2}楼的老人有哮喘，最近咳得厉害。",
        ),
        ("请督促商家安装油烟净化设备，规范经营时间。",),
        ("经{unit}现场检查，该店未安装油烟净化设施，排烟口距居民窗户不足{n}米。",),
        (
            "已责令商家限期{deadline}日内安装合格的油烟净化器并改造排烟管道，逾期将依法处罚；",
            "同时要求其晚十点后停止室外经营，执法人员将定期回访。",
        ),
    ),
    Topic(
        "factory-odour",
        "环境保护",
        "大气污染",
        ("生态环境局",),
        ("complaint",),
        ("{company}夜间排放刺鼻气味", "{town}工业园区异味扰民", "{district}晚上空气中有化学品味道"),
        (
            "每到晚上九点以后，{district}工业园方向就飘来一股刺鼻的化学品味道，像烧塑料。",
            "附近{estate}的居民都能闻到，有的小孩出现咳嗽、头晕。",
            "怀疑是{company}晚上偷排废气。",
        ),
        ("请环保部门查处偷排行为，公布检测结果。",),
        ("{unit}连续{n}个夜间对工业园区开展走航监测，锁定{company}废气处理设施未正常运行。",),
        (
            "已对该企业立案处罚并责令停产整改，整改验收合格前不得恢复生产；",
            "已在{estate}附近设置空气质量监测点，监测数据每周在政府网站公布。",
        ),
    ),
    # ------------------------------------------------------------------ 交通运输
    Topic(
        "bus-stop-far",
        "交通运输",
        "公共交通",
        ("交通运输局",),
        ("suggestion", "complaint"),
        (
            "{bus}公交站距地铁口{hundreds}米换乘不便",
            "建议将{road}公交站移近地铁出口",
            "{road}地铁与公交换乘距离太远",
        ),
        (
            "地铁{n}号线{road}站开通后，{bus}公交站离地铁出口有{hundreds}米，下雨天换乘很不方便。",
            "早高峰很多人一路小跑赶车，老人和带孩子的家长更吃力。",
            "出口旁边其实就有港湾式停车位。",
        ),
        ("建议将公交站迁移到地铁出口附近。",),
        ("{unit}会同公交集团现场踏勘，确认地铁{n}号出口旁具备设站条件。",),
        (
            "已将{bus}{road}站迁至地铁出口旁，新站点距出口约100米；",
            "同步调整了站牌和电子站牌信息，感谢您的建议。",
        ),
    ),
    Topic(
        "bus-stop-seats",
        "交通运输",
        "公共交通",
        ("交通运输局",),
        ("suggestion",),
        (
            "建议在{road}公交站增设座椅",
            "{road}公交站没有座位老人等车吃力",
            "{bus}公交站台增设休息座椅的建议",
        ),
        (
            "{road}公交站每天有很多老人去{hospital}看病在这里等车，站台没有一张座椅。",
            "{bus}班次间隔长，老人要站二三十分钟。",
        ),
        ("建议在站台增设座椅和遮阳棚。",),
        ("经{unit}现场查看，{road}站候车人流中老年乘客占比较高，站台具备安装条件。",),
        ("已在该站安装不锈钢座椅{n}组并加长遮阳棚；", "同时将对全市客流较大的站台逐步增设座椅。"),
    ),
    Topic(
        "bridge-toll",
        "交通运输",
        "收费公路",
        ("交通运输局",),
        ("inquiry", "suggestion"),
        ("{road}大桥收费何时取消", "咨询{road}隧道收费政策", "{road}大桥收费是否合规"),
        (
            "每天上下班都要经过{road}大桥，来回要交{tens}元，一个月下来要{hundreds}多元。",
            "听说大桥的建设贷款早就还完了。",
        ),
        ("请问这座桥的收费期限到什么时候？能否对本地车辆办理月票？",),
        ("经查，{road}大桥属经营性收费公路，经省政府批准的收费期限至{year2}年。",),
        (
            "收费期满将依法停止收费；",
            "本地登记车辆可通过ETC办理通行优惠，月通行费最多可减免{pct}%，"
            "办理地点为{district}交通服务大厅。",
        ),
        outcome="解释说明",
    ),
    Topic(
        "illegal-parking",
        "交通运输",
        "交通秩序",
        ("公安交管", "城管执法"),
        ("complaint",),
        ("{estate}门口违停严重堵塞消防通道", "{road}学校门口接送车辆乱停", "{road}占道停车严重"),
        (
            "{road}{estate}门口每天晚上都有{tens}多辆车违停，占了一半车道。",
            "上周救护车进小区都被堵了十多分钟。",
            "旁边明明有收费停车场，就是没人去停。",
        ),
        ("请交警加强管理，施划禁停标线。",),
        (
            "{unit}接件后连续{n}天安排警力在{road}{estate}门口开展整治，查处违停车辆{hundreds}余辆。",
        ),
        (
            "已施划黄色禁停网格线并安装违停抓拍设备；",
            "同时协调周边停车场夜间优惠开放，引导车辆入场停放。",
        ),
    ),
    Topic(
        "footbridge",
        "交通运输",
        "交通设施",
        ("交通运输局", "住建局"),
        ("complaint", "help"),
        ("{road}人行天桥护栏松动存在安全隐患", "{road}天桥台阶破损", "{road}天桥危险请尽快维修"),
        (
            "{road}人行天桥的护栏有好几处松动，一靠就晃，台阶也碎了{n}块。",
            "每天有很多学生从{school}放学经过这座桥。",
        ),
        ("请尽快检修，避免发生意外。",),
        ("{unit}当日安排养护单位现场检查，确认护栏螺栓锈蚀松动{n2}处、踏步破损{n}块。",),
        (
            "已当天设置警示围挡，{n}日内完成护栏加固和台阶更换；",
            "已对全市{hundreds}座人行天桥开展安全排查。",
        ),
        urgent_share=0.2,
    ),
    # ------------------------------------------------------------------ 教育文体
    Topic(
        "school-too-far",
        "教育文体",
        "义务教育",
        ("教育局",),
        ("complaint", "help", "inquiry"),
        ("{estate}划片学校太远孩子上学难", "{estate}周边没有小学", "{estate}新小区学位配套问题"),
        (
            "我们{district}{estate}入住已经{years}年，小区有{hundreds}多户，划片的小学却在{n}公里外。",
            "孩子每天早上六点就要起床，路上还要穿过{road}。",
            "当初买房时售楼处说配建小学，现在那块地还在长草。",
        ),
        ("请问配套学校什么时候能建成？过渡期能否就近安排学位？",),
        ("经{unit}核查，{estate}配套小学已完成立项和规划审批。",),
        (
            "该校计划于{month}月开工，设计规模{n}轨，预计两年内投入使用；",
            "建成前，{estate}适龄儿童可申请就近到{school}就读，并开通定制公交接送。",
        ),
    ),
    Topic(
        "kindergarten-fee",
        "教育文体",
        "学前教育",
        ("教育局", "市场监管局"),
        ("complaint", "inquiry"),
        (
            "{estate}旁的幼儿园一年收费{money}元是否合理",
            "{estate}附近民办幼儿园收费太贵",
            "{district}幼儿园乱收费问题",
        ),
        (
            "孩子在{district}一家民办幼儿园上学，一年保教费加伙食费要{money}元。",
            "除此之外，还另收兴趣班费、校服费等{n}项费用。",
            "我们工薪家庭实在负担不起，周边又没有普惠园。",
        ),
        ("请问这个收费标准是否经过备案？能否增加普惠性学位？",),
        (
            "经{unit}会同市场监管部门核查，该园收费已按规定备案，但另收的{n}项费用中有{n2}项属于违规收费。",
        ),
        (
            "已责令该园退还违规收取的费用；",
            "{district}今年将新增普惠性学位{hundreds}个，家长可关注教育局公众号的招生公告。",
        ),
        outcome="解释说明",
    ),
    Topic(
        "lost-id-exam",
        "教育文体",
        "考试招生",
        ("教育局",),
        ("help",),
        (
            "孩子身份证丢失影响高考报名，离截止只剩{n}天",
            "急！{district}高三学生身份证遗失",
            "{school}考生身份证丢失如何报名",
        ),
        (
            "我家孩子是{district}第{n}中学的高三学生，上个月身份证丢了，临时身份证也还没办下来。",
            "高考网上报名{weeks}周后就截止，现场确认要用身份证。",
        ),
        ("请问能否先用户口本报名？能否加急办理身份证？",),
        ("{unit}接件当日即与考生家长取得联系，并协调户籍部门开通加急通道。",),
        (
            "考生的身份证已于{n}个工作日内加急办结；",
            "报名期间如证件未到，可凭户口簿和临时身份证明先行报名，现场确认时补验身份证。",
        ),
        urgent_share=0.6,
    ),
    Topic(
        "stadium-open",
        "教育文体",
        "文体设施",
        ("文旅局", "教育局"),
        ("suggestion", "inquiry"),
        ("{park}体育场周末不对外开放", "建议{school}操场课后向居民开放", "{district}缺少健身场地"),
        (
            "{district}{park}旁的体育场建成后一直锁着门，周末也不开放。",
            "附近{estate}等小区有几万人，只能在马路边跑步。",
        ),
        ("建议体育场在非比赛日免费或低收费开放。",),
        ("经{unit}了解，该体育场此前因草坪养护暂停开放。",),
        (
            "自下月起，体育场将在每周二至周日6:00—9:00、17:00—21:00免费开放，"
            "市民可通过“{city}体育”小程序预约；",
            "周边{n}所学校的操场也将在节假日向居民开放。",
        ),
    ),
    # ------------------------------------------------------------------ 劳动和社会保障
    Topic(
        "unpaid-wages",
        "劳动和社会保障",
        "工资待遇",
        ("人社局",),
        ("complaint", "help"),
        (
            "{company}拖欠{n}名工人工资{money}元",
            "讨薪无门，{months}个月工资没拿到",
            "农民工工资被拖欠{months}个月",
        ),
        (
            "我们{n}个人在{district}{estate}工地给{company}干了{months}个月，一共{money}元工资到现在一分钱没发。",
            "老板一直说开发商没给钱，现在电话也不接了。",
            "家里老人要看病，孩子要交学费，年底了我们连回家的路费都没有。",
        ),
        ("恳请政府帮我们把血汗钱要回来！",),
        ("{unit}劳动保障监察大队接件后立即约谈了{company}负责人和总承包单位。",),
        (
            "经调查核实，拖欠工资{money}元属实，已责令总承包单位先行垫付；",
            "工人的工资已于{weeks}周内全部通过农民工工资专用账户发放到个人银行卡；",
            "对该公司将依法纳入拖欠工资失信名单。",
        ),
        urgent_share=0.25,
    ),
    Topic(
        "dismissal",
        "劳动和社会保障",
        "劳动关系",
        ("人社局",),
        ("complaint", "help"),
        (
            "{company}以经营困难为由违法辞退员工",
            "{company}辞退员工不给补偿",
            "在{company}干了{years}年被无故辞退",
        ),
        (
            "我在{company}工作了{years}年，上个月公司口头通知我不用来上班了，没有书面通知，也没有任何补偿。",
            "我找人事部门，说是经营困难要裁员，可公司还在招新人。",
        ),
        ("请问公司这样做是否合法？我应该怎样维权？",),
        ("{unit}当日约谈{company}，经调查，该公司未依法履行裁员程序。",),
        (
            "公司已向您书面致歉，并按《劳动合同法》第四十七条支付经济补偿{n}个月工资；",
            "如仍有争议，可向{district}劳动人事争议仲裁院申请仲裁，不收取费用。",
        ),
    ),
    Topic(
        "pension-transfer",
        "劳动和社会保障",
        "社会保险",
        ("人社局",),
        ("inquiry",),
        (
            "{city}异地养老保险转移接续怎么办理",
            "在外省工作{years}年，养老保险关系怎么转移",
            "在外省交了{years}年社保，转回{city}怎么办",
        ),
        (
            "我在外省工作了{years}年，交了养老保险，现在回{city}工作。",
            "听说可以把外省的社保转回来，但不知道要带什么材料，去哪里办。",
        ),
        ("请告知具体办理流程和所需时间。",),
        ("您咨询的养老保险关系转移可通过线上或线下办理。",),
        (
            "线上可通过国家社会保险公共服务平台或掌上12333申请，线下可到{district}社保经办大厅办理；",
            "只需提供身份证，转出地和转入地经办机构会在十五个工作日内完成信息交换，无需个人往返两地。",
        ),
        outcome="解释说明",
    ),
    Topic(
        "medical-insurance",
        "劳动和社会保障",
        "医疗保障",
        ("人社局", "卫健委"),
        ("inquiry", "complaint"),
        (
            "{hospital}门诊慢特病报销比例咨询",
            "{hospital}医保报销被拒",
            "在{hospital}住院，异地就医备案怎么办",
        ),
        (
            "我母亲患高血压和糖尿病多年，在{hospital}长期拿药，每个月要花{hundreds}多元。",
            "去窗口问慢特病能不能报销，工作人员说得不清楚。",
        ),
        ("请问慢特病门诊怎样申请？报销比例是多少？",),
        ("经{unit}核实，高血压、糖尿病均属我市门诊慢特病病种。",),
        (
            "您母亲可持诊断证明到{hospital}医保窗口申请认定，认定后在定点医院门诊购药按{pct}%的比例报销；",
            "年度支付限额为每人{money}元。",
        ),
        outcome="解释说明",
    ),
    # ------------------------------------------------------------------ 商贸旅游
    Topic(
        "mahjong-parlour",
        "商贸旅游",
        "市场秩序",
        ("市场监管局", "街道办"),
        ("complaint",),
        ("{estate}底商棋牌室人员聚集", "{estate}旁棋牌室通宵营业扰民", "{road}棋牌室存在安全隐患"),
        (
            "{estate}{n}栋楼下开了{n2}家棋牌室，每天从中午开到凌晨，里面烟雾缭绕、人挤人。",
            "现在正是流感高发季节，这么多人聚集很不安全。",
            "麻将声和吵闹声一直持续到半夜。",
        ),
        ("请有关部门检查这些棋牌室是否证照齐全，规范经营时间。",),
        ("{unit}会同社区对{estate}周边棋牌室进行了检查，其中{n2}家未办理营业执照。",),
        (
            "无证经营的已依法取缔；",
            "其余棋牌室已签订承诺书，控制室内人数、加强通风，晚十一点前停止营业。",
        ),
    ),
    Topic(
        "prepaid-card",
        "商贸旅游",
        "消费维权",
        ("市场监管局",),
        ("complaint", "help"),
        (
            "{company}健身房关门预付卡无法退费",
            "商家跑路预付卡余额{money}元无处退",
            "{road}美容店预付卡消费维权",
        ),
        (
            "我去年在{road}的一家健身房办了年卡，花了{money}元，才去了{n}次健身房就突然关门了。",
            "店里贴了一张“装修升级”的通知，老板电话打不通。",
            "据我所知，办卡的会员有{hundreds}多人。",
        ),
        ("请帮助我们追回余额。",),
        ("{unit}已对该健身房经营者立案调查，并将相关线索移送公安机关。",),
        (
            "已组织会员登记，截至目前登记{hundreds}人；",
            "经协调，同一商场内另一家健身机构同意为会员免费续接剩余课时，"
            "不愿续接的会员可凭登记材料参与后续清偿。",
        ),
        outcome="解释说明",
    ),
    Topic(
        "scenic-parking",
        "商贸旅游",
        "旅游市场",
        ("文旅局", "市场监管局"),
        ("complaint", "suggestion"),
        ("{park}景区停车收费不合理", "{park}门票之外另收费", "{park}节假日停车乱收费"),
        (
            "国庆期间带家人去{park}，停车场按次收费{tens}元，比标示的价格高了一倍。",
            "景区里的观光车、讲解又要另外收费，门口也没有公示。",
        ),
        ("请核查收费是否合规，要求明码标价。",),
        ("经{unit}核查，{park}停车场节假日期间擅自提高收费标准的情况属实。",),
        ("已责令停车场经营者退还多收费用并依法处罚；", "景区已在入口处公示全部收费项目和标准。"),
    ),
    Topic(
        "short-weight",
        "商贸旅游",
        "物价",
        ("市场监管局",),
        ("complaint",),
        ("{market}缺斤少两", "{market}电子秤作弊", "{market}价格不明码标价"),
        (
            "在{district}{market}买了{n}斤排骨，回家一称少了快二两。",
            "好几个摊位都没有标价，外地人去买还要贵一截。",
        ),
        ("请加强对农贸市场计量器具和明码标价的检查。",),
        ("{unit}执法人员对{market}{hundreds}台电子秤进行了检定，查出{n}台计量不准。",),
        (
            "已没收作弊电子秤并依法处罚相关商户；",
            "市场内已设置公平秤和价格公示屏，消费者可随时复秤。",
        ),
    ),
    # ------------------------------------------------------------------ 卫生计生
    Topic(
        "birth-certificate",
        "卫生计生",
        "妇幼保健",
        ("卫健委",),
        ("help", "complaint"),
        (
            "{hospital}出生医学证明迟迟办不下来",
            "新生儿出生证明补办难",
            "{district}生育登记办理问题",
        ),
        (
            "我家孩子{months}个月前在{hospital}出生，当时因为父亲在外地没有及时办理出生医学证明。",
            "现在去补办，医院说要到妇幼保健院，妇幼保健院又说要回出生医院，来回跑了{n}趟。",
            "没有出生证明，孩子上不了户口，打疫苗也麻烦。",
        ),
        ("请明确补办流程，尽快为孩子办理。",),
        ("{unit}接件后与出生医院和妇幼保健院进行了核实，补办应由出生医院受理审核。",),
        (
            "{hospital}已为您的孩子补办出生医学证明，您可于工作日到医院产科领取；",
            "已要求各助产机构在窗口公示补办流程，杜绝推诿。",
        ),
    ),
    Topic(
        "clinic-queue",
        "卫生计生",
        "医疗服务",
        ("卫健委",),
        ("suggestion", "complaint"),
        ("{hospital}排队时间太长", "{town}社区卫生服务中心挂号难", "建议增加{hospital}夜间门诊"),
        (
            "{district}{hospital}每天早上七点就排长队，挂号、缴费、拿药要排三次，一上午只能看一个病。",
            "老年人不会用手机预约，只能现场排队。",
        ),
        ("建议增加挂号窗口和老年人专用通道，开设夜间门诊。",),
        ("经{unit}调查，{hospital}日门诊量较去年增长{pct}%，窗口设置未及时调整。",),
        (
            "已增设挂号收费一体窗口{n2}个和老年人绿色通道；",
            "自下月起开设周一至周五晚间门诊至20:30。",
        ),
    ),
    Topic(
        "double-charge",
        "卫生计生",
        "医疗收费",
        ("卫健委", "市场监管局"),
        ("complaint",),
        ("{hospital}重复收费", "{hospital}住院费用清单有问题", "{hospital}收费不透明"),
        (
            "我父亲在{hospital}住院{n}天，出院后看费用清单，同一项检查收了两次，总共多收了{hundreds}多元。",
            "去找医院，他们说系统问题，让我们自己去找科室。",
        ),
        ("请核查并退还多收费用。",),
        ("经{unit}调阅费用清单核实，该患者住院期间确有{n2}项检查重复计费。",),
        (
            "医院已将多收的费用全额退还至您的账户并致歉；",
            "已对全院费用清单开展专项自查，相关责任人已被通报批评。",
        ),
    ),
    Topic(
        "stranded-family",
        "卫生计生",
        "公共卫生",
        ("卫健委", "信访局"),
        ("help",),
        ("一家{n}口滞留外省无法返回", "求助：老人孩子滞留外地{n}天", "疫情期间返回{city}受阻"),
        (
            "我们一家{n}口人去外省探亲，因当地发生疫情被困在酒店已经{n2}天，带的药快吃完了。",
            "老人有心脏病，孩子才{n}岁，酒店费用也快承担不起了。",
        ),
        ("请帮助我们联系返乡，或者协调当地解决住宿和药品问题。",),
        ("{unit}启动绿色通道，当日即与当地防控部门和我市驻外工作组取得联系。",),
        (
            "已协调当地为老人送去所需药品，并安排免费隔离点住宿；",
            "经核酸检测阴性后，已安排专车接您一家返回，返回后按规定居家健康监测。",
        ),
        urgent_share=0.7,
    ),
    Topic(
        "praise",
        "卫生计生",
        "表扬",
        ("卫健委", "教育局", "人社局", "城管执法"),
        ("praise",),
        (
            "表扬{unit_short}工作人员",
            "感谢{unit_short}帮我们解决了难题",
            "为{unit_short}点赞",
            "{unit_short}{n}天就解决了{estate}的老问题，点赞",
            "感谢{unit_short}为{village}办实事",
            "{unit_short}工作人员{n}次上门服务，值得点赞",
            "{road}的问题解决了，谢谢{unit_short}",
        ),
        (
            "上个月我反映的问题，{unit_short}的工作人员第二天就上门了解情况，{n}天就帮我们解决了。",
            "工作人员态度特别好，还留了电话，说有问题随时找他们。",
        ),
        ("特此表扬，希望给予通报表扬。",),
        ("感谢您对{unit}工作的肯定，您的留言已转达相关工作人员。",),
        ("我们将继续改进工作作风，及时回应群众诉求。",),
        outcome="解释说明",
    ),
)

# The common issue (共性问题): dozens of families near one new estate, one brief to leaders.
KINDERGARTEN = Topic(
    "kindergarten-places",
    "教育文体",
    "学前教育",
    ("教育局",),
    ("complaint", "help", "suggestion"),
    (
        "{estate}周边没有公办幼儿园孩子入园难",
        "{estate}幼儿园学位严重不足",
        "新小区{estate}入园难",
        "呼吁在{estate}配建公办幼儿园",
        "{estate}业主孩子上幼儿园要跑{n}公里",
        "{estate}配套幼儿园什么时候建",
        "{estate}的孩子上幼儿园怎么办",
        "{estate}规划的幼儿园为何迟迟不动工",
        "{estate}{n}栋业主：孩子{age}岁了还没有幼儿园上",
        "{estate}适龄儿童入园难，民办幼儿园太贵",
        "请解决{estate}幼儿园学位问题",
        "{estate}幼儿园用地被闲置{years}年",
        "{estate}孩子入园要排队，学位缺口{hundreds}个",
        "再次反映{estate}没有幼儿园",
        "{estate}家长盼一所公办幼儿园",
    ),
    (
        "我们是{district}{estate}的业主，小区{n2}千多户，入住已经{years}年，规划里的配套幼儿园一直没有建。",
        "最近的公办幼儿园在{n}公里以外，今年报名{hundreds}多人抢几十个学位。",
        "民办幼儿园一年要{money}元，普通家庭负担太重。",
        "小区里有{hundreds}多个适龄孩子，很多家长只能让老人带着在家。",
        "去年业主就联名反映过，到现在还没有答复。",
        "每天早上送孩子要倒两趟公交，六点多就得出门，孩子在车上都睡着了。",
        "售楼时宣传册上写着“小区内配建幼儿园”，现在那块地还是一片空地，长满了草。",
        "业主群里{hundreds}多位家长都在问这件事，大家都很着急。",
    ),
    (
        "请问{estate}的配套幼儿园什么时候能建？今年秋季学位怎么解决？",
        "恳请教育部门尽快落实配套幼儿园，过渡期增加普惠学位。",
        "希望政府能在小区附近先开一个临时公办园，让孩子就近入园。",
        "请给我们一个明确的建园时间表。",
    ),
    ("经{unit}核查，{estate}配套幼儿园用地已于今年收回开发商代建权，由区政府直接建设。",),
    (
        "该园设计{n}个班、学位{hundreds}个，已于{month}月开工，预计明年秋季开园；",
        "过渡期内，在{estate}南侧租用临时园舍开设公办分园，今年新增学位{hundreds}个，收费按公办标准执行；",
        "我们已将业主反映的情况形成专报，报区政府统筹推进。",
    ),
    leads=(
        "我家住{estate}{n}栋，孩子今年{age}岁，到了上幼儿园的年纪，可小区周边一所公办幼儿园都没有。",
        "我是{estate}的一名宝妈，孩子{age}岁，今年报了{n2}所幼儿园都没排上。",
        "我是{estate}的业主，帮女儿带外孙，孩子明年就该入园了，附近却没有幼儿园。",
        "{estate}交房已经{years}年了，小区配套幼儿园还是一块空地。",
        "我们一家去年搬进{district}{estate}，买房时最看重的就是小区配套的幼儿园，结果到现在都没建。",
        "作为{estate}的业主代表，我代表{hundreds}多户有孩子的家庭反映幼儿园学位的问题。",
        "我家二宝{age}岁，{estate}附近的公办幼儿园学位早就满了。",
    ),
)
KINDERGARTEN_ESTATE = "翠湖湾"
KINDERGARTEN_DISTRICT = ("云岭市", "高新区")

# Places are put together from parts, so a city of two thousand messages names hundreds of
# estates, roads and villages, as a real one does (and two messages rarely share a title).
_ESTATE_STEMS = (
    "金桂", "锦绣", "阳光", "滨江", "书香", "枫林", "天悦", "和平", "幸福", "紫荆",
    "碧水", "春江", "桂花", "南苑", "御景", "梧桐", "翠竹", "龙湖", "香樟", "银杏",
    "东方", "盛世", "嘉禾", "万家", "丽景", "明珠", "青松", "凤凰", "荷塘", "清风",
    "星河", "湖畔", "西溪", "北辰", "锦江", "云山", "绿洲", "长岛", "金地", "融城",
)  # fmt: skip
_ESTATE_ENDS = (
    "园", "华庭", "新城", "壹号", "苑", "雅居", "府", "小区", "家园", "花园",
    "蓝湾", "名邸", "新村", "郡", "公馆", "嘉园", "里", "国际", "佳苑", "天地",
)  # fmt: skip
ESTATES = tuple(stem + end for stem in _ESTATE_STEMS for end in _ESTATE_ENDS)
_ROAD_STEMS = (
    "建设", "人民", "解放", "滨江", "学府", "文化", "新华", "朝阳", "青年", "迎宾",
    "环城", "长虹", "五一", "中山", "胜利", "光明", "友谊", "红旗", "金湖", "桃源",
    "花园", "创业", "科技", "民主", "八一", "东风", "清江", "望江", "白沙", "青山",
)  # fmt: skip
_ROAD_ENDS = ("路", "大道", "街", "东路", "西路", "南路", "北路", "中路")
ROADS = tuple(stem + end for stem in _ROAD_STEMS for end in _ROAD_ENDS)
_SCHOOL_STEMS = (
    "实验", "育才", "城南", "新城", "第二", "第五", "外国语", "桂花", "滨江", "光明",
    "红星", "启明", "博才", "明德", "芙蓉", "长青", "青竹", "南山", "枫叶", "东湖",
)  # fmt: skip
SCHOOLS = tuple(
    stem + end for stem in _SCHOOL_STEMS for end in ("小学", "中学", "学校", "初级中学")
)
_VILLAGE_STEMS = (
    "石桥", "杨家湾", "柳塘", "新塘", "上坪", "黄泥岗", "双河", "枫树", "白石", "桃花",
    "龙潭", "高坪", "大塘", "水口", "茶园", "檀树", "金盆", "竹山", "牛角冲", "鹅公",
    "杉木", "长冲", "田心", "荷叶", "观音", "狮子", "马家", "李家", "周家坝", "沙坪",
)  # fmt: skip
VILLAGES = tuple(f"{stem}村" for stem in _VILLAGE_STEMS)
_COMPANY_STEMS = (
    "恒达", "鑫源", "华美", "云天", "顺发", "金色年华", "宏图", "佳和", "振兴", "远大",
    "天成", "汇通", "瑞丰", "永盛", "新纪元", "宏远", "鼎盛", "众邦",
)  # fmt: skip
_COMPANY_ENDS = (
    "建筑劳务有限公司", "物业服务有限公司", "装饰工程公司", "电子厂", "物流有限公司",
    "健身会所", "化工有限公司", "餐饮管理公司", "食品厂", "家政服务公司",
)  # fmt: skip
COMPANIES = tuple(stem + end for stem in _COMPANY_STEMS for end in _COMPANY_ENDS)
BUSES = (*(f"{n}路" for n in range(1, 360, 7)), "K6路", "夜班N3路", "旅游2路", "城际5路")
HOSPITALS = (
    "区人民医院", "市第一人民医院", "市第二人民医院", "市第三人民医院", "市中医院",
    "社区卫生服务中心", "市妇幼保健院", "市中心医院", "市儿童医院", "区中医医院",
    "街道卫生院", "市口腔医院", "市骨伤科医院", "区妇幼保健所",
)  # fmt: skip
MARKETS = tuple(
    stem + end
    for stem in ("东门", "城南", "新华", "滨江", "西湖", "北站", "红星", "桂花", "五一", "马家湾")
    for end in ("农贸市场", "菜市场", "综合市场")
)
PARKS = (
    "湿地公园", "滨江公园", "人民公园", "青山森林公园", "奥体中心", "烈士公园",
    "月湖公园", "植物园", "桃花岭", "杨湖湿地", "梅溪公园", "松湖公园",
    "石燕岭", "大岭山", "江心洲", "云岭山",
)  # fmt: skip

OPENINGS = (
    "尊敬的{addressee}：您好！",
    "{addressee}您好！",
    "领导您好，",
    "您好！",
    "",
    "",
    "打扰了，",
    "我是{city}{district}的一名普通市民。",
    "我是一位在{city}生活了{years}年的市民，",
    "{addressee}：",
    "领导好！我想反映一个问题。",
    "我是{district}{town}的居民，",
    "各位领导：",
    "冒昧给您留言，",
)
CLOSINGS = (
    "恳请领导百忙之中关注一下，谢谢！",
    "希望能尽快得到答复。",
    "盼复！",
    "谢谢！",
    "辛苦了！",
    "",
    "如需核实情况，可以电话联系我。",
    "这个问题已经反映多次了，希望这次能真正解决。",
    "相信政府一定能帮我们解决。",
    "期待早日解决，谢谢各位领导！",
    "麻烦尽快处理，感谢！",
    "望有关部门重视。",
    "请给老百姓一个说法。",
)
REPEAT_OPENINGS = (
    "我在{date}已经反映过这个问题，至今没有解决，现再次反映。",
    "这是我第二次留言了，上次反映后情况没有任何改变。",
    "之前留言反映过，答复说会处理，但到现在还是老样子。",
)
GREETINGS = (
    "网友您好！您的留言已收悉，现将有关情况答复如下：",
    "尊敬的网友：您好！您反映的问题我们高度重视，现答复如下：",
    "您好！感谢您对{city}工作的关心和支持。关于您反映的问题，答复如下：",
)
INTERIM = ("您好！您反映的问题已交由{unit}办理，目前正在{progress}，我们将在办结后及时答复您。",)
PROGRESS = ("组织现场核查", "会同相关部门调查", "协调有关单位研究解决方案", "调取相关资料")
OUTCOME_LINES = {
    "支持": "您反映的问题属实，已按上述措施处理。",
    "解释说明": "以上情况特此说明，感谢您的理解。",
    "不支持": "经核查，您反映的问题与实际情况不符，依法不予支持，如有异议可依法申请复查。",
}

REJECT_REASONS = (
    "无实质内容",
    "不属受理范围：属民事纠纷，建议通过人民调解或诉讼途径解决",
    "已进入法定程序：该事项已在法院审理中",
    "不属受理范围：涉及军队事务，请向有关部门反映",
)
REPEAT_REJECT_REASON = "重复留言：同一诉求已在办理中，不再重复受理"
RETURN_REASONS = (
    "该事项不属本单位职责范围，建议交{other}办理",
    "反映地点不在本辖区，请重新交办",
    "该问题涉及{other}的审批事项，本单位无法处理",
)
SEND_BACK_NOTES = (
    "答复没有回应留言人提出的第二个问题，请补充。",
    "请写明具体的整改时限和责任人。",
    "答复过于笼统，请补充现场核查结果。",
    "请核实答复中的数字，并留下联系电话。",
)
EXTENSION_REASONS = (
    "涉及多个部门协调，需进一步调查取证",
    "需组织专家论证后才能确定整改方案",
    "整改工程需走招投标程序，需延长办理期限",
    "需等待上级部门审批意见",
)
PAUSE_REASONS = ("等待留言人补充购房合同等证明材料", "组织听证，暂停计时", "等待第三方检测鉴定结果")
REMIND_NOTES = ("该件已超过答复期限，请加快办理并及时答复。", "请于两个工作日内报送办理进展。")
FLAG_NOTES = ("群众反复反映，列为挂牌督办件，请主要负责人亲自过问。",)
SUMMON_NOTES = ("办理严重超期，约谈承办单位分管负责人。",)
LEADER_TITLES = ("市委书记", "市长", "常务副市长", "分管副市长", "区委书记", "区长")
INSTRUCTIONS = (
    "请{unit}高度重视，尽快核实处理，并将结果报我。",
    "群众利益无小事，请抓紧办理，限期答复。",
    "请举一反三，排查同类问题。",
)
OWNER_TEXT = "由{leader}包案，一包到底，直至问题解决。"
RATING_COMMENTS = {
    "满意": ("问题很快就解决了，感谢！", "工作人员态度很好，办事效率高。", "", "点赞！"),
    "基本满意": ("问题基本解决，但时间有点长。", "答复还可以，希望以后落实到位。", ""),
    "不满意": (
        "答复只是说在研究，问题根本没有解决。",
        "现场没有人来看过，答复与事实不符。",
        "说了整改，到现在还是老样子。",
    ),
}
FOLLOW_UPS = (
    "追评：整改已经完成，情况明显好转，谢谢。",
    "追评：过了一段时间又出现了同样的问题。",
    "追评：已经收到了退款，感谢。",
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许邓冯韩曹曾彭萧蔡潘田董袁于余叶蒋杜苏魏程吕丁沈"


def author_and_contact(rng: random.Random) -> tuple[str, str]:
    """A masked citizen name and phone: obviously not a real person's (last four digits 00xx)."""
    surname = rng.choice(SURNAMES)
    style = rng.random()
    if style < 0.35:
        name = f"网友{rng.randrange(16**6):06x}"
    elif style < 0.6:
        name = f"{surname}先生"
    elif style < 0.85:
        name = f"{surname}女士"
    else:
        name = f"{surname}**"
    phone = f"1{rng.choice('3589')}{rng.randrange(10)}****00{rng.randrange(100):02d}"
    return name, phone


@dataclass
class Slots:
    """The concrete places and numbers one message (and its reply) talk about."""

    values: dict[str, str]

    def fill(self, template: str) -> str:
        return template.format_map(self.values)


def draw_slots(
    rng: random.Random,
    *,
    city: str,
    district: str,
    town: str,
    addressee: str,
    unit: str,
    received: datetime,
    estate: str | None = None,
) -> Slots:
    r = rng.random  # one C call per pick: slots are drawn for every one of 100,000 cases

    def pick(options: tuple[Any, ...] | str) -> Any:
        return options[int(r() * len(options))]

    def num(low: int, high: int) -> str:
        return str(low + int(r() * (high - low + 1)))

    road = int(r() * len(ROADS))
    now_year = received.year
    values = {
        "city": city,
        "district": district,
        "town": town,
        "addressee": addressee,
        "unit": unit,
        "unit_short": unit.removeprefix(city).removeprefix(district) or unit,
        "estate": estate or pick(ESTATES),
        "road": ROADS[road],
        "road2": ROADS[(road + 1 + int(r() * (len(ROADS) - 1))) % len(ROADS)],
        "school": pick(SCHOOLS),
        "village": pick(VILLAGES),
        "company": pick(COMPANIES),
        "bus": pick(BUSES),
        "hospital": pick(HOSPITALS),
        "market": pick(MARKETS),
        "park": pick(PARKS),
        "n": num(2, 9),
        "n2": num(2, 6),
        "age": num(2, 4),
        "tens": str(pick((20, 30, 40, 50, 60))),
        "pct": str(pick((20, 30, 50, 60, 70))),
        "hundreds": str(pick((120, 180, 200, 260, 300, 350, 400, 500, 600, 800))),
        "money": str(pick((8, 12, 15, 23, 34, 46, 58, 90)) * 1000),
        "months": num(2, 8),
        "years": num(2, 6),
        "weeks": num(2, 5),
        "deadline": str(pick((7, 10, 15, 20))),
        "month": num(1, 12),
        "year": str(now_year - 3 - int(r() * 5)),
        "year2": str(now_year + 2 + int(r() * 8)),
        "tail": f"{int(r() * 1000):03d}",
        "progress": pick(PROGRESS),
        "other": "",
        "date": f"{received.month}月{received.day}日",
    }
    return Slots(values)


def compose_message(
    rng: random.Random, topic: Topic, slots: Slots, *, repeat: bool = False
) -> tuple[str, str]:
    """Title and body in a citizen's voice: opening, facts, ask, closing, of varied length."""
    title = frame_title(rng, slots.fill(rng.choice(topic.titles)), slots, topic)
    lead = rng.choice(topic.leads) if topic.leads and rng.random() < 0.8 else topic.facts[0]
    facts = [lead] + [f for f in topic.facts[1:] if rng.random() < 0.55]
    parts = [rng.choice(OPENINGS)]
    if repeat and "praise" not in topic.kinds:  # thanks are not chased
        parts.append(rng.choice(REPEAT_OPENINGS))
    parts.extend(facts)
    parts.append(rng.choice(topic.asks))
    parts.append(rng.choice(CLOSINGS))
    body = slots.fill("".join(parts))
    return title, body


# How citizens put a title around its matter: plain, as an appeal or a question, place first.
TITLE_FRAMES = (
    "{t}",
    "{t}",
    "{t}",
    "{t}",
    "关于{t}的问题",
    "{t}，盼解决",
    "{t}，恳请关注",
    "{t}，请领导过问",
    "{t}？",
    "{t}！",
    "反映{t}",
    "{t}，多次反映无果",
    "{t}，希望尽快处理",
    "{t}一事",
    "{place}{t}",
    "{place}{t}",
    "{place}：{t}",
    "{place}居民反映{t}",
    "{t}（{place}）",
)
# A title that already asks, thanks, proposes or names its problem keeps its own words.
_OWN_VERB = ("请", "建议", "咨询", "呼吁", "投诉", "求助", "急", "表扬", "感谢", "为", "再次")
_OWN_END = ("咨询", "建议", "问题", "怎么办理", "如何报名", "怎么办", "是否合理", "是否合规")
VERB_FRAMES = ("{t}", "{t}", "{t}！", "{place}：{t}", "{t}（{place}）", "{t}，盼复")


def frame_title(rng: random.Random, core: str, slots: Slots, topic: Topic) -> str:
    """The title as one citizen writes it: the matter, framed and placed their own way."""
    own = (
        core.startswith(_OWN_VERB)
        or core.endswith(_OWN_END)
        or "，" in core  # a title that is already a sentence
        or topic.key == "praise"
    )
    frames = VERB_FRAMES if own else TITLE_FRAMES
    frame = rng.choice(frames)
    if "{place}" not in frame:
        return frame.format(t=core)
    values = slots.values
    places = [
        place
        for place in (
            values["district"],
            values["town"],
            values["city"] + values["district"],
            values["district"] + values["town"],
        )
        # A place the title names already is not named twice.
        if place
        and place not in core
        and not (values["district"] in place and values["district"] in core)
    ]
    if not places:
        return core
    return frame.format(t=core, place=rng.choice(places))


def compose_reply(
    rng: random.Random, topic: Topic, slots: Slots, outcome: str, replied: datetime
) -> str:
    """A final reply that answers the message's points with the same places and figures."""
    measures = [m for m in topic.measures if rng.random() < 0.8] or [topic.measures[0]]
    text = (
        rng.choice(GREETINGS)
        + rng.choice(topic.findings)
        + "".join(measures).rstrip("；。")
        + "。"
        + OUTCOME_LINES[outcome]
        + "如有疑问，请拨打{unit}咨询电话0000-5550{tail}。"
        + f"\n{{unit}}\n{replied.year}年{replied.month}月{replied.day}日"
    )
    return slots.fill(text)


def compose_interim(rng: random.Random, slots: Slots) -> str:
    return slots.fill(rng.choice(INTERIM))
