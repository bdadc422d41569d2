#!/usr/bin/env python3
"""Writes Juki-net's operating calendar for Japan (backend/calendar/japan.json).

  backend/calendar/make_japan_holidays.py [--first 2020] [--last 2035] [--out FILE]
  backend/calendar/make_japan_holidays.py --check FILE    (exit 1 when FILE differs)

The holidays follow 国民の祝日に関する法律 (the Public Holidays Act) as amended
up to 2018, with its special measures for 2019 (the accession), 2020 and 2021
(the Tokyo Olympics), for the years 2007 to 2099:

  - 国民の祝日 on fixed dates, on Happy Monday rules (the n-th Monday of a
    month), and on the equinoxes;
  - 振替休日 (Art. 3(2), since 2007): a 国民の祝日 on a Sunday makes the
    nearest following day that is not a 国民の祝日 a holiday;
  - 国民の休日 (Art. 3(3)): a day that is not a 国民の祝日, with a 国民の祝日 on
    the day before and the day after, is a holiday.

The equinox days use the usual approximation (valid 1980-2099). The official
dates are announced in the 官報 each February for the following year, so the
later years' equinoxes are predictions; rerun this with a corrected rule if an
announcement ever differs. Python 3 standard library only; the output is the
same on every run, so --check tells whether japan.json is this script's.
"""
import argparse
import datetime
import json
import pathlib
import sys

FIRST_SUPPORTED, LAST_SUPPORTED = 2007, 2099  # 2007: today's 振替休日 rule and 昭和の日
MONDAY, SUNDAY = 0, 6  # datetime.date.weekday()


def nth_monday(year, month, n):
    first = datetime.date(year, month, 1)
    return first + datetime.timedelta(days=(MONDAY - first.weekday()) % 7 + 7 * (n - 1))


def equinox_day(year, base):
    """Day of March/September of the equinox: int(base + 0.242194 (y - 1980) - int((y - 1980) / 4)),
    in integers (base in millionths) so that no rounding can move a day."""
    n = year - 1980
    return (base + 242194 * n) // 1_000_000 - n // 4


def vernal_equinox(year):
    return datetime.date(year, 3, equinox_day(year, 20_843_100))


def autumnal_equinox(year):
    return datetime.date(year, 9, equinox_day(year, 23_248_800))


def national_holidays(year):
    """The 国民の祝日 of one year (Art. 2 and the special laws): {date: name}."""
    d = datetime.date
    days = {
        d(year, 1, 1): "元日",
        nth_monday(year, 1, 2): "成人の日",
        d(year, 2, 11): "建国記念の日",
        vernal_equinox(year): "春分の日",
        d(year, 4, 29): "昭和の日",
        d(year, 5, 3): "憲法記念日",
        d(year, 5, 4): "みどりの日",
        d(year, 5, 5): "こどもの日",
        nth_monday(year, 9, 3): "敬老の日",
        autumnal_equinox(year): "秋分の日",
        d(year, 11, 3): "文化の日",
        d(year, 11, 23): "勤労感謝の日",
    }
    # 天皇誕生日: the Heisei emperor's until 2018, none in 2019, the Reiwa emperor's from 2020.
    if year <= 2018:
        days[d(year, 12, 23)] = "天皇誕生日"
    elif year >= 2020:
        days[d(year, 2, 23)] = "天皇誕生日"
    # 2019: the accession (天皇の即位の日及び即位礼正殿の儀の行われる日を休日とする法律),
    # counted as 国民の祝日, which makes 04-30 and 05-02 国民の休日.
    if year == 2019:
        days[d(2019, 5, 1)] = "天皇の即位の日"
        days[d(2019, 10, 22)] = "即位礼正殿の儀の行われる日"
    # The Olympic special measures moved three days in 2020 and again in 2021.
    olympic = {
        2020: {"海の日": d(2020, 7, 23), "スポーツの日": d(2020, 7, 24), "山の日": d(2020, 8, 10)},
        2021: {"海の日": d(2021, 7, 22), "スポーツの日": d(2021, 7, 23), "山の日": d(2021, 8, 8)},
    }.get(year, {})
    days[olympic.get("海の日", nth_monday(year, 7, 3))] = "海の日"
    if year >= 2016:
        days[olympic.get("山の日", d(year, 8, 11))] = "山の日"
    sports = "体育の日" if year <= 2019 else "スポーツの日"
    days[olympic.get("スポーツの日", nth_monday(year, 10, 2))] = sports
    return days


def holidays(first, last):
    """Every holiday from first to last, in date order: [(date, name)]."""
    # One year either side, so that a rule that looks across 31 December sees both years.
    national = {}
    for year in range(max(first - 1, FIRST_SUPPORTED), min(last + 1, LAST_SUPPORTED) + 1):
        national.update(national_holidays(year))
    days = dict(national)
    one = datetime.timedelta(days=1)
    for day in sorted(national):
        if day.weekday() == SUNDAY:
            substitute = day + one
            while substitute in national:
                substitute += one
            days.setdefault(substitute, "振替休日")
    for day in sorted(national):
        between = day + one
        if between not in national and between + one in national:
            days.setdefault(between, "国民の休日")
    return [(day, name) for day, name in sorted(days.items()) if first <= day.year <= last]


def calendar(first, last):
    """japan.json's text."""
    description = (
        "Juki-net's common operating calendar for Japan (seed 000 chapter 4): weekdays "
        "09:00-17:00 JST, except national holidays and 29 December to 3 January. Generated "
        "by backend/calendar/make_japan_holidays.py; do not edit by hand. Equinox days "
        "not yet announced in the official gazette are the usual formula's predictions.")
    head = {
        "format": "juki-operating-calendar/1",
        "description": description,
        "covers": {"from": f"{first:04d}-01-01", "to": f"{last:04d}-12-31"},
        "business_hours": {"start": "09:00", "end": "17:00"},
        "weekend": ["saturday", "sunday"],
        "annual_closures": [{"from": "12-29", "to": "01-03", "name": "年末年始"}],
    }
    # One field per line, one holiday per line: small diffs when a year is added.
    dump = lambda v: json.dumps(v, ensure_ascii=False)
    lines = ["{"]
    for key, value in head.items():
        lines.append(f"  {dump(key)}: {dump(value)},")
    lines.append('  "holidays": [')
    rows = [f'    {{"date": "{day.isoformat()}", "name": {dump(name)}}}'
            for day, name in holidays(first, last)]
    lines.append(",\n".join(rows))
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    here = pathlib.Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=int, default=2020)
    parser.add_argument("--last", type=int, default=2035)
    parser.add_argument("--out", type=pathlib.Path, default=here / "japan.json")
    parser.add_argument("--check", type=pathlib.Path,
                        help="compare FILE with what this script writes; change nothing")
    args = parser.parse_args()
    if not FIRST_SUPPORTED <= args.first <= args.last <= LAST_SUPPORTED:
        parser.error(f"years must satisfy {FIRST_SUPPORTED} <= first <= last <= {LAST_SUPPORTED}")
    text = calendar(args.first, args.last)
    if args.check:
        if args.check.read_text(encoding="utf-8") != text:
            print(f"{args.check} is not what {pathlib.Path(__file__).name} writes for "
                  f"{args.first}-{args.last}: regenerate it", file=sys.stderr)
            return 1
        print(f"{args.check}: up to date")
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"{args.out}: {text.count(chr(10) + '    {')} holidays, {args.first}-{args.last}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
