"""The demo bureau's units and clerks: a fictitious province (江南省), three cities, their
districts, counties and townships, and the departments that really receive such messages.

Every name is invented; clerks are named by surname and duty (e.g. 陈受理), so nobody could
mistake the demo for a real bureau's staff list.
"""

from __future__ import annotations

from dataclasses import dataclass

from caseworker.domain.lifecycle import Role

PROVINCE = "江南省"

# city -> its districts and counties, each with the townships / street offices under it
CITIES: dict[str, dict[str, tuple[str, ...]]] = {
    "云岭市": {
        "城东区": ("望江街道", "东门街道"),
        "城西区": ("西湖街道",),
        "高新区": ("科创街道",),
        "青山县": ("白石镇", "松林乡"),
    },
    "清河市": {
        "河东区": ("新华街道",),
        "河西区": ("柳岸街道",),
        "柳溪县": ("柳溪镇", "杏花乡"),
    },
    "东湖市": {
        "湖滨区": ("湖滨街道",),
        "东港区": ("港口街道",),
        "桃源县": ("桃花镇",),
    },
}

# Residents of each city and of each district or county (invented, of a plausible size), so
# the bulletin's intake per 10,000 residents has figures (the units file's `population`).
POPULATIONS: dict[str, int] = {
    "云岭市": 4_260_000,
    "云岭市城东区": 918_000,
    "云岭市城西区": 764_000,
    "云岭市高新区": 385_000,
    "云岭市青山县": 512_000,
    "清河市": 2_870_000,
    "清河市河东区": 693_000,
    "清河市河西区": 581_000,
    "清河市柳溪县": 447_000,
    "东湖市": 1_950_000,
    "东湖市湖滨区": 526_000,
    "东湖市东港区": 402_000,
    "东湖市桃源县": 338_000,
}

# Departments of a city, by the short name the corpus routes to.
CITY_DEPARTMENTS: dict[str, str] = {
    "教育局": "教育局",
    "住建局": "住房和城乡建设局",
    "人社局": "人力资源和社会保障局",
    "交通运输局": "交通运输局",
    "卫健委": "卫生健康委员会",
    "生态环境局": "生态环境局",
    "自然资源局": "自然资源和规划局",
    "公安交管": "公安局交通警察支队",
    "城管执法": "城市管理综合执法局",
    "市场监管局": "市场监督管理局",
    "信访局": "信访局",
    "供电公司": "供电公司",
    "文旅局": "文化广电旅游局",
}

# Departments of a district or county (the rest of its cases go up to the city).
DISTRICT_DEPARTMENTS: dict[str, str] = {
    "教育局": "教育局",
    "住建局": "住房和城乡建设局",
    "人社局": "人力资源和社会保障局",
    "卫健委": "卫生健康局",
    "城管执法": "城市管理综合执法局",
    "市场监管局": "市场监督管理局",
}

SURNAMES = (
    "陈林黄周吴徐孙马朱胡郭何高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)


@dataclass(frozen=True)
class DemoUnit:
    """One unit of the demo tree; `dept` is the short department name cases are routed by."""

    id: int
    code: str
    name: str
    level: str
    parent_id: int | None
    city: str | None = None
    district: str | None = None
    dept: str | None = None
    population: int | None = None  # residents of a city's or a county's area


@dataclass(frozen=True)
class DemoClerk:
    id: int
    name: str
    role: Role
    unit_id: int | None = None


@dataclass
class Bureau:
    """The demo tree and staff, with the look-ups the simulation needs."""

    units: list[DemoUnit]
    clerks: list[DemoClerk]

    def __post_init__(self) -> None:
        self.by_dept: dict[tuple[str, str | None, str], DemoUnit] = {}
        for unit in self.units:
            if unit.dept and unit.city:
                self.by_dept[(unit.city, unit.district, unit.dept)] = unit
        self.handlers: dict[int, list[DemoClerk]] = {}
        for clerk in self.clerks:
            if clerk.role is Role.HANDLER and clerk.unit_id is not None:
                self.handlers.setdefault(clerk.unit_id, []).append(clerk)
        self.bureau_clerks = [c for c in self.clerks if c.role is Role.CLERK]
        self.supervisors = [c for c in self.clerks if c.role is Role.SUPERVISOR]
        self.streets = [u for u in self.units if u.dept == "街道办"]

    def unit_for(self, city: str, district: str | None, dept: str) -> DemoUnit:
        """The district's department when it has one, else the city's."""
        return self.by_dept.get((city, district, dept)) or self.by_dept[(city, None, dept)]

    def districts(self, city: str) -> list[str]:
        return list(CITIES[city])


def build_bureau() -> Bureau:
    """The fixed demo tree (ids from 1, parents first) and one or two clerks per desk."""
    units: list[DemoUnit] = []

    def add(code: str, name: str, level: str, parent: int | None, **kw: str | None) -> int:
        uid = len(units) + 1
        area = None
        if level in ("city", "county"):
            area = POPULATIONS[f"{kw.get('city') or ''}{kw.get('district') or ''}"]
        units.append(DemoUnit(uid, code, name, level, parent, population=area, **kw))
        return uid

    province = add("JN", f"{PROVINCE}人民政府", "province", None)
    add("JN-XF", f"{PROVINCE}信访局", "department", province)
    for c_no, (city, districts) in enumerate(CITIES.items(), start=1):
        ccode = f"JN{c_no:02d}"
        city_id = add(ccode, f"{city}人民政府", "city", province, city=city)
        for d_no, (short, full) in enumerate(CITY_DEPARTMENTS.items(), start=1):
            add(
                f"{ccode}-D{d_no:02d}",
                f"{city}{full}",
                "department",
                city_id,
                city=city,
                dept=short,
            )
        for k_no, (district, towns) in enumerate(districts.items(), start=1):
            kcode = f"{ccode}{k_no:02d}"
            district_id = add(
                kcode, f"{city}{district}人民政府", "county", city_id, city=city, district=district
            )
            for d_no, (short, full) in enumerate(DISTRICT_DEPARTMENTS.items(), start=1):
                add(
                    f"{kcode}-D{d_no:02d}",
                    f"{city}{district}{full}",
                    "department",
                    district_id,
                    city=city,
                    district=district,
                    dept=short,
                )
            for t_no, town in enumerate(towns, start=1):
                office = "办事处" if town.endswith("街道") else "人民政府"
                add(
                    f"{kcode}{t_no:03d}",
                    f"{city}{district}{town}{office}",
                    "township",
                    district_id,
                    city=city,
                    district=district,
                    dept="街道办",
                )

    clerks: list[DemoClerk] = []
    used: set[str] = set()

    def staff(name: str, role: Role, unit_id: int | None = None) -> None:
        if name in used:  # two desks with the same surname: number the second
            name = f"{name}{sum(1 for u in used if u.startswith(name)) + 1}"
        used.add(name)
        clerks.append(DemoClerk(len(clerks) + 1, name, role, unit_id))

    for surname in "陈林黄周吴徐":
        staff(f"{surname}受理", Role.CLERK)
    for surname in "赵钱":
        staff(f"{surname}督查", Role.SUPERVISOR)
    n = 0
    for unit in units:
        if unit.dept is None:
            continue
        surname = SURNAMES[n % len(SURNAMES)]
        n += 1
        staff(f"{surname}经办·{unit.name.removeprefix(unit.city or '')}", Role.HANDLER, unit.id)
    return Bureau(units, clerks)
