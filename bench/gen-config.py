#!/usr/bin/env python3
"""Generate a large, valid pbx.yaml for benchmarks.

    bench/gen-config.py OUT.yaml [--tenants N] [--staff M] [--seed S] [--split]

With --split every tenant is written to its own file, `tenants/<id>.yaml` next to OUT.yaml,
and OUT.yaml includes them (`include:`), the layout of a hosted provider's config: a file may
be at most 16 MiB, so 1,000 tenants x 100 staff (~19 MB) needs it.

Defaults: 100 tenants x 100 staff, 10 departments of 10 members and 10 numbers per
tenant, i.e. 100 tenants, 10,000 staff, 1,000 departments and 1,000 numbers.

The output is deterministic: the same arguments give the same bytes (random.Random(seed)).
Every string that could be read as a number (extensions, phone numbers, IPs) is quoted;
names, logins, e-mails, times and dates are quoted too. No audio files are referenced.
Standard library only.
"""

import argparse
import json
import math
import os
import random
import sys

# Emergency and service numbers that may not be extensions (src/config/values.rs).
RESERVED_EXTENSIONS = {
    "100", "101", "102", "103", "104", "109", "112", "115", "121", "123", "125", "141", "149",
}

MALE_FIRST = [
    "Иван", "Пётр", "Алексей", "Дмитрий", "Сергей", "Андрей", "Михаил", "Николай",
    "Владимир", "Александр", "Евгений", "Олег", "Игорь", "Максим", "Артём", "Кирилл",
    "Роман", "Павел", "Юрий", "Виктор", "Григорий", "Константин", "Степан", "Фёдор",
    "Василий", "Денис", "Илья", "Тимофей", "Семён", "Ярослав", "Эдуард", "Глеб",
]
FEMALE_FIRST = [
    "Анна", "Мария", "Елена", "Ольга", "Татьяна", "Наталья", "Ирина", "Светлана",
    "Екатерина", "Юлия", "Анастасия", "Дарья", "Ксения", "Алёна", "Полина", "Вера",
    "Людмила", "Галина", "Надежда", "Марина", "Виктория", "Софья", "Евгения", "Жанна",
    "Валентина", "Любовь", "Кристина", "Майя", "Зоя", "Лариса", "Эльвира", "Яна",
]
# Male forms; the female form is derived in female_surname().
SURNAMES = [
    "Петров", "Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Соколов", "Михайлов",
    "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров",
    "Павлов", "Козлов", "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин",
    "Захаров", "Зайцев", "Соловьёв", "Борисов", "Яковлев", "Григорьев", "Романов", "Воробьёв",
    "Сергеев", "Кузьмин", "Фролов", "Александров", "Дмитриев", "Королёв", "Гусев", "Киселёв",
    "Ильин", "Максимов", "Поляков", "Сорокин", "Виноградов", "Ковалёв", "Белов", "Медведев",
    "Антонов", "Тарасов", "Жуков", "Баранов", "Филиппов", "Комаров", "Давыдов", "Беляев",
    "Герасимов", "Богданов", "Осипов", "Сидоров", "Матвеев", "Титов", "Марков", "Миронов",
    "Крылов", "Куликов", "Карпов", "Власов", "Мельников", "Денисов", "Гаврилов", "Тихонов",
    "Казаков", "Афанасьев", "Данилов", "Савельев", "Тимофеев", "Фомин", "Чернов", "Абрамов",
    "Мартынов", "Ефимов", "Федотов", "Щербаков", "Назаров", "Калинин", "Исаев", "Чернышёв",
    "Быков", "Маслов", "Родионов", "Коновалов", "Лазарев", "Воронин", "Климов", "Филатов",
    "Пономарёв", "Голубев", "Кудрявцев", "Прохоров", "Наумов", "Потапов", "Журавлёв", "Овчинников",
    "Трофимов", "Леонов", "Соболев", "Ермаков", "Колесников", "Гончаров", "Емельянов", "Никифоров",
    "Грачёв", "Котов", "Гришин", "Ефремов", "Архипов", "Громов", "Кириллов", "Малышев",
    "Панов", "Моисеев", "Румянцев", "Акимов", "Кондратьев", "Бирюков", "Горбунов", "Анисимов",
    "Еремеев", "Хохлов", "Щукин", "Цветков", "Шубин", "Юдин", "Блинов", "Ширяев",
    "Островский", "Вишневский", "Покровский", "Успенский", "Жуковский", "Толстой", "Черных", "Шевченко",
]
DEPARTMENT_NAMES = [
    "Отдел продаж", "Техническая поддержка", "Бухгалтерия", "Отдел кадров", "Логистика",
    "Закупки", "Юридический отдел", "Маркетинг", "Сервисный центр", "Приёмная",
]
POSITIONS = [
    "Менеджер по продажам", "Инженер поддержки", "Бухгалтер", "Специалист по кадрам",
    "Логист", "Руководитель отдела", "Юрист", "Маркетолог", "Оператор", "Секретарь",
]
COMPANY_WORDS = [
    "Ромашка", "Вектор", "Горизонт", "Меридиан", "Альфа", "Север", "Гранит", "Рассвет",
    "Импульс", "Орбита", "Кристалл", "Волна", "Спектр", "Парус", "Магистраль", "Созвездие",
]
STRATEGIES = ["all_at_once", "evenly", "in_order", "increasing"]
HOLIDAYS = [
    "2026-01-01..2026-01-08", "2026-02-23", "2026-03-09", "2026-05-01",
    "2026-05-11", "2026-06-12", "2026-11-04", "2026-12-31",
]

# The crate's transliteration (src/config/translit.rs), Russian letters only.
TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "э": "e",
    "ж": "zh", "з": "z", "и": "i", "й": "y", "ы": "y", "к": "k", "л": "l", "м": "m",
    "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f",
    "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ь": "", "ю": "yu",
    "я": "ya",
}


def q(s):
    """A YAML double-quoted scalar (JSON string syntax is valid YAML)."""
    return json.dumps(s, ensure_ascii=False)


def flow(items):
    return "[" + ", ".join(q(i) for i in items) + "]"


def female_surname(s):
    if s.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return s + "а"
    if s.endswith(("ский", "цкий")):
        return s[:-2] + "ая"
    if s.endswith("ой"):
        return s[:-2] + "ая"
    return s  # Черных, Шевченко


def login_of(name):
    words = ["".join(TRANSLIT.get(c, c) for c in w.lower()) for w in name.split()]
    return ".".join(words)


class Indented:
    """A list of lines that prefixes each line appended with `indent`; with no indent (a tenant
    file's top level) the two columns of the list item ("- id:", "  name:") are dropped."""

    def __init__(self, out, indent):
        self.out, self.indent = out, indent

    def append(self, line):
        self.out.append(self.indent + line if self.indent else line[2:])


def extensions(start, taken):
    """Extensions from `start` upwards, skipping reserved numbers and `taken`."""
    n = start
    while True:
        e = str(n)
        if e not in RESERVED_EXTENSIONS and e not in taken and not e.startswith("0"):
            yield e
        n += 1


def gen_tenant(out, rng, ti, a, indent="  "):
    """Appends tenant `ti` as an item of `tenants:` (indent "  "), or as a tenant file's
    top-level mapping (indent "")."""
    tid = f"t{ti:0{a.width}d}"
    out = Indented(out, indent)
    domain = f"{tid}.pbx.example"
    company = f"ООО «{COMPANY_WORDS[ti % len(COMPANY_WORDS)]}-{ti:03d}»"
    w = out.append
    w(f"- id: {tid}")
    w(f"  name: {q(company)}")
    w(f"  domain: {q(domain)}")
    w(f"  max_users: {a.staff}")
    w("  timezone: Europe/Moscow")
    w("  outbound_trunks: [gw]")

    # Department extensions first (901...), staff extensions from 201 skip them.
    dept_ext_taken = set()
    dept_exts = []
    gen = extensions(901, set())
    for _ in range(a.departments):
        e = next(gen)
        dept_exts.append(e)
        dept_ext_taken.add(e)
    staff_ext = extensions(201, dept_ext_taken)

    # About half the staff have an explicit login and extension; departments refer to them.
    n_explicit = min(a.staff, max(math.ceil(a.staff / 2), a.members))
    explicit = set(rng.sample(range(a.staff), n_explicit))
    logins_used = set()
    member_pool = []

    w("  staff:")
    for si in range(a.staff):
        female = rng.random() < 0.5
        first = rng.choice(FEMALE_FIRST if female else MALE_FIRST)
        last = rng.choice(SURNAMES)
        if female:
            last = female_surname(last)
        name = f"{first} {last}"
        base = login_of(name)
        w(f"    - name: {q(name)}")
        login = None
        if si in explicit:
            login, k = base, 2
            while login in logins_used:
                login, k = f"{base}{k}", k + 1
            logins_used.add(login)
            member_pool.append(login)
            w(f"      login: {q(login)}")
            w(f"      extension: {q(next(staff_ext))}")
        if si == 0:
            w("      role: admin")
            w(f"      position: {q('Руководитель отдела')}")
        elif rng.random() < 0.3:
            w(f"      position: {q(rng.choice(POSITIONS))}")
        if rng.random() < 0.4:
            w(f"      email: {q((login or base) + '@' + domain)}")
        if rng.random() < 0.25:
            mobile = "+79" + "".join(rng.choice("0123456789") for _ in range(9))
            w(f"      mobile: {{number: {q(mobile)}, forwarding: delayed, delay: 15s}}")

    w("  departments:")
    n_members = min(a.members, len(member_pool))
    for di in range(a.departments):
        did = f"d{di + 1:02d}"
        dname = DEPARTMENT_NAMES[di % len(DEPARTMENT_NAMES)]
        if di >= len(DEPARTMENT_NAMES):
            dname += f" {di // len(DEPARTMENT_NAMES) + 1}"
        w(f"    - id: {did}")
        w(f"      name: {q(dname)}")
        w(f"      extension: {q(dept_exts[di])}")
        w(f"      strategy: {STRATEGIES[di % len(STRATEGIES)]}")
        w(f"      ring_time: {rng.choice(['30s', '45s', '60s', '1m30s'])}")
        w(f"      step: {rng.choice(['10s', '15s', '20s'])}")
        w(f"      members: {flow(rng.sample(member_pool, n_members))}")
        # Transfers only go to a later department, so they can never form a cycle.
        kind = di % 3
        if kind == 1:
            number = "+7495" + "".join(rng.choice("0123456789") for _ in range(7))
            w(f"      no_answer: {{forward: {{number: {q(number)}, timeout: 30s}}}}")
        elif kind == 2 and di + 1 < a.departments:
            target = rng.randrange(di + 1, a.departments)
            w(f"      no_answer: {{transfer: {{department: d{target + 1:02d}}}}}")
        else:
            w("      no_answer: voicemail")
        if rng.random() < 0.4:
            w("      impatient_callers: {after: 20s}")

    w("  schedules:")
    w("    - id: office")
    w("      hours:")
    w(f"        weekdays: {flow(['09:00-18:00'])}")
    w(f"      holidays: {flow(HOLIDAYS)}")

    w("  numbers:")
    for ni in range(a.numbers):
        # +7495 and 7 digits, unique across the file.
        serial = 2_000_000 + (ti - 1) * a.numbers + ni
        dept = ni % a.departments + 1
        w(f"    - number: {q(f'+7495{serial:07d}')}")
        w(f"      name: {q(DEPARTMENT_NAMES[(dept - 1) % len(DEPARTMENT_NAMES)])}")
        w("      schedule: office")
        w(f"      destination: {{department: d{dept:02d}}}")
        w(f"      after_hours: {{voicemail: d{dept:02d}}}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", help="where to write the config")
    p.add_argument("--tenants", "-n", type=int, default=100)
    p.add_argument("--staff", "-m", type=int, default=100, help="staff per tenant (also max_users)")
    p.add_argument("--departments", type=int, default=10, help="departments per tenant")
    p.add_argument("--members", type=int, default=10, help="members per department")
    p.add_argument("--numbers", type=int, default=10, help="numbers per tenant")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--split", action="store_true", help="one file per tenant, included")
    a = p.parse_args()
    if not 1 <= a.tenants <= 9999:
        p.error("--tenants must be 1 to 9999 (ids are t001..t999, or t0001..t9999 above 999)")
    a.width = 3 if a.tenants <= 999 else 4
    if a.staff < 1 or a.departments < 1 or a.numbers < 1 or a.members < 0:
        p.error("--staff, --departments and --numbers must be at least 1")
    if a.departments > 99:
        p.error("--departments must be at most 99 (ids are d01..d99)")
    if 2_000_000 + a.tenants * a.numbers > 9_999_999:
        p.error("too many numbers for the +7495NNNNNNN range")

    rng = random.Random(a.seed)
    out = [
        "version: 1",
        "# Generated by bench/gen-config.py "
        f"--tenants {a.tenants} --staff {a.staff} --departments {a.departments} "
        f"--members {a.members} --numbers {a.numbers} --seed {a.seed}",
        "trunks:",
        "  - id: gw",
        f"    host: {q('127.0.0.1')}",
        "    port: 5080",
        "tenants:",
    ]
    if a.split:
        tenants_dir = os.path.join(os.path.dirname(os.path.abspath(a.out)), "tenants")
        os.makedirs(tenants_dir, exist_ok=True)
        out[-1] = "include:"
        for ti in range(1, a.tenants + 1):
            tid = f"t{ti:0{a.width}d}"
            out.append(f"  - tenants/{tid}.yaml")
            lines = []
            gen_tenant(lines, rng, ti, a, indent="")
            with open(os.path.join(tenants_dir, f"{tid}.yaml"), "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
    else:
        for ti in range(1, a.tenants + 1):
            gen_tenant(out, rng, ti, a)
    with open(a.out, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    print(
        f"wrote {a.out}: {a.tenants} tenants, {a.tenants * a.staff} staff, "
        f"{a.tenants * a.departments} departments, {a.tenants * a.numbers} numbers",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
