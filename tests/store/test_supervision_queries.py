"""The supervisor's views on a seeded store, on SQLite and PostgreSQL: `stuck` lists
exactly the past-due (and, when asked, idle) open tasks, oldest first, within the
viewer's jurisdiction; `board` counts per queue and stage; `task_clock` gives the time
used and left on a task.

The cases are driven through the real hardship domain and appended through
`EventStore.append` (as the workflow's `record_events` does), around the National Day
week of 2026: 1-7 October are holidays, Saturday 10 October is a make-up working day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from casework.domain.calendar import STATUTORY
from casework.domain.case import Action
from casework.domain.org import CITY, Role
from casework.domain.supervision import clock_events
from casework.store import projections
from casework.store.directory import User
from casework.store.event_store import EventStore
from casework.store.supervision import (
    StuckItem,
    SupervisionRefused,
    SupervisorQueries,
    WorkingDayIndex,
    days_overdue,
    idle_cutoff,
    task_clock,
)
from casework.store.tables import case_tasks, open_task_days
from tests.store.builders import (
    DISTRICT_LEADER,
    DISTRICT_OFFICER,
    GRASSROOTS2,
    GRASSROOTS3,
    OPENER,
    DomainCase,
    actor,
    findings,
)

NOW = datetime(2026, 10, 14, 2, 0, tzinfo=UTC)
"""Wednesday 14 October 2026, 10:00 in Nantong."""


def at(month: int, day: int, hour_utc: int = 1) -> datetime:
    return datetime(2026, month, day, hour_utc, 0, tzinfo=UTC)


def user(id_: str, *roles: Role, district: str = "崇川区") -> User:
    return User(id=id_, name=id_, roles=list(roles), district=district)


CITY_SUPERVISOR = user("city.supervisor", Role.SUPERVISOR, district=CITY)
CHONGCHUAN_SUPERVISOR = user("chongchuan.supervisor", Role.SUPERVISOR)
TONGZHOU_SUPERVISOR = user("tongzhou.supervisor", Role.SUPERVISOR, district="通州区")
OFFICER = user(GRASSROOTS2.id, Role.GRASSROOTS_OFFICER)
SUPERVISOR_ACTOR = actor("chongchuan.supervisor", Role.SUPERVISOR)
TONGZHOU_OPENER = actor("tongzhou.grassroots1", Role.GRASSROOTS_OFFICER, district="通州区")
TONGZHOU_REVIEWER = actor("tongzhou.grassroots2", Role.GRASSROOTS_OFFICER, district="通州区")


def move_clock(case: DomainCase, moment: datetime) -> None:
    """What the workflow's timer records at `moment` (task.overdue / task.escalated)."""
    case.now = moment - timedelta(hours=1, microseconds=7)  # ctx() adds that back
    ctx = case.ctx()
    events = clock_events(
        case.state, ctx, case.process.calendar, case.process.escalation_grace_days
    )
    assert events, f"nothing due on {case.case_id} at {moment}"
    case.record(events)


def at_time(case: DomainCase, moment: datetime) -> DomainCase:
    case.now = moment - timedelta(hours=1, microseconds=7)
    return case


class Seeded:
    """Eight cases in three queues, as of NOW:

    1 late          崇川 grassroots review, opened Mon 28 Sep, claimed by grassroots2,
                    due end of Sat 10 Oct (make-up day), overdue and escalated (recorded)
    2 recent_late   崇川, opened Wed 30 Sep, due end of Tue 13 Oct, commented today
    3 on_time       崇川, opened Mon 12 Oct, due Mon 19 Oct
    4 waiting       崇川, opened 28 Sep, information requested the same day (clock paused)
    5 tongzhou_late 通州, opened 28 Sep, unclaimed, due 10 Oct
    6 closed        崇川, rejected on 28 Sep
    7 city          崇川 case at the city review (市总工会 queue) since 28 Sep, due 10 Oct
    8 extended      崇川, opened 28 Sep, extended to 20 Oct by the supervisor on 13 Oct
    """

    def __init__(self, store: EventStore) -> None:
        def new(n: int, start: datetime) -> DomainCase:
            return DomainCase(store, f"HR-2026-{n:06d}", start=start)

        self.late = new(1, at(9, 28)).open().act(GRASSROOTS2, Action.CLAIM)
        move_clock(self.late, at(10, 10, 16))
        move_clock(self.late, at(10, 13, 16))
        self.recent_late = new(2, at(9, 30)).open()
        at_time(self.recent_late, at(10, 14, 1)).act(GRASSROOTS3, Action.COMMENT, "已电话催办")
        self.on_time = new(3, at(10, 12)).open()
        self.waiting = (
            new(4, at(9, 28)).open().act(GRASSROOTS2, Action.REQUEST_INFO, "请补充医疗票据")
        )
        self.tongzhou_late = new(5, at(9, 28)).open(
            TONGZHOU_OPENER, applicant={"district": "通州区"}
        )
        self.closed = new(6, at(9, 28)).open().act(GRASSROOTS2, Action.REJECT, "不符合条件")
        self.city = (
            new(7, at(9, 28))
            .open(requested_amount_fen=800_000)
            .act(GRASSROOTS2, Action.APPROVE, "材料齐全")
            .civil_affairs()
            .act(GRASSROOTS2, Action.APPROVE, "已入户", findings(GRASSROOTS2.id, GRASSROOTS3.id))
            .notice_ended()
            .act(DISTRICT_OFFICER, Action.APPROVE)
            .act(DISTRICT_LEADER, Action.APPROVE)
        )
        self.extended = new(8, at(9, 28)).open()
        at_time(self.extended, at(10, 13, 8)).act(
            SUPERVISOR_ACTOR, Action.EXTEND, "申请人住院，延期", {"until": "2026-10-20"}
        )


@pytest.fixture
def seeded(store: EventStore) -> Seeded:
    return Seeded(store)


@pytest.fixture
def queries(engine: Engine) -> SupervisorQueries:
    return SupervisorQueries(engine)


def ids(items: list[StuckItem]) -> list[str]:
    return [i.case_id for i in items]


# -- stuck ---------------------------------------------------------------------------------


def test_the_seeded_cases_are_where_the_scenario_says(seeded: Seeded) -> None:
    assert seeded.city.state.stage == "city_review"
    assert seeded.city.state.task is not None and seeded.city.state.task.district == CITY
    assert seeded.late.state.task is not None and seeded.late.state.task.escalated
    assert seeded.waiting.state.task is not None and seeded.waiting.state.task.paused_at
    assert seeded.closed.state.status == "closed"
    task = seeded.extended.state.task
    assert task is not None and task.due_at is not None and task.due_at > NOW


def test_stuck_lists_exactly_the_past_due_tasks_oldest_first(
    seeded: Seeded, queries: SupervisorQueries
) -> None:
    items = queries.stuck(CITY_SUPERVISOR, now=NOW)
    # Three fell due at the end of 10 October (the make-up Saturday): the tie goes by
    # case id; the one due on the 13th comes last. Paused, extended, closed and
    # not-yet-due tasks are absent.
    assert ids(items) == [
        seeded.late.case_id,
        seeded.tongzhou_late.case_id,
        seeded.city.case_id,
        seeded.recent_late.case_id,
    ]
    late, tongzhou, city, recent = items
    assert late.assignee == GRASSROOTS2.id and late.escalated and not late.paused
    assert late.stage == "grassroots_review" and late.type == "hardship"
    assert late.due_at == datetime(2026, 10, 10, 16, 0, tzinfo=UTC)
    # Past due since 24:00 on the 10th: 12, 13 and 14 October are the working days since.
    assert [i.days_overdue for i in items] == [3, 3, 3, 1]
    assert tongzhou.assignee is None and tongzhou.district == "通州区"
    assert city.district == CITY and city.case_district == "崇川区"
    assert city.stage == "city_review"
    assert {i.reason for i in items} == {"overdue"}
    assert late.last_event_at == seeded.late.state.updated_at
    assert recent.last_event_at == at(10, 14, 1)


def test_a_district_supervisor_sees_their_district_only(
    seeded: Seeded, queries: SupervisorQueries
) -> None:
    assert ids(queries.stuck(CHONGCHUAN_SUPERVISOR, now=NOW)) == [
        seeded.late.case_id,
        seeded.recent_late.case_id,
    ]
    assert ids(queries.stuck(TONGZHOU_SUPERVISOR, now=NOW)) == [seeded.tongzhou_late.case_id]
    with pytest.raises(SupervisionRefused) as refused:
        queries.stuck(CHONGCHUAN_SUPERVISOR, now=NOW, district="通州区")
    assert refused.value.code == "outside_jurisdiction" and refused.value.field == "district"


def test_the_city_narrows_by_district_and_type(seeded: Seeded, queries: SupervisorQueries) -> None:
    assert ids(queries.stuck(CITY_SUPERVISOR, now=NOW, district="通州区")) == [
        seeded.tongzhou_late.case_id
    ]
    assert ids(queries.stuck(CITY_SUPERVISOR, now=NOW, district=CITY)) == [seeded.city.case_id]
    assert len(queries.stuck(CITY_SUPERVISOR, now=NOW, case_type="hardship")) == 4
    assert ids(queries.stuck(CITY_SUPERVISOR, now=NOW, limit=2)) == [
        seeded.late.case_id,
        seeded.tongzhou_late.case_id,
    ]
    for bad, code in (
        ({"district": "上海"}, "unknown_district"),
        ({"case_type": "legal_aid"}, "unknown_type"),
        ({"limit": 0}, "invalid_limit"),
    ):
        with pytest.raises(SupervisionRefused) as refused:
            queries.stuck(CITY_SUPERVISOR, now=NOW, **bad)  # type: ignore[arg-type]
        assert refused.value.code == code


def test_idle_days_adds_tasks_without_an_event_for_that_many_working_days(
    seeded: Seeded, queries: SupervisorQueries
) -> None:
    items = queries.stuck(CITY_SUPERVISOR, now=NOW, idle_days=1)
    # Added: `waiting` (nothing since 28 Sep, clock paused) and `on_time` (opened on the
    # 12th, nothing on the 13th). Oldest first by when each got stuck: the earlier of
    # its passed deadline and its last event (so `tongzhou_late` and `city`, untouched
    # since 28 Sep, come before `late`, whose escalation was recorded on the 13th).
    assert ids(items) == [
        seeded.tongzhou_late.case_id,
        seeded.waiting.case_id,
        seeded.city.case_id,
        seeded.late.case_id,
        seeded.on_time.case_id,
        seeded.recent_late.case_id,
    ]
    reasons = {i.case_id: i.reason for i in items}
    assert reasons == {
        seeded.tongzhou_late.case_id: "overdue",
        seeded.waiting.case_id: "idle",
        seeded.city.case_id: "overdue",
        seeded.late.case_id: "overdue",
        seeded.on_time.case_id: "idle",
        seeded.recent_late.case_id: "overdue",
    }
    assert ids(queries.stuck(CITY_SUPERVISOR, now=NOW, idle_days=1, limit=3)) == ids(items)[:3]
    waiting = items[1]
    assert waiting.paused and waiting.status == "waiting_info" and waiting.days_overdue == 0
    # 29, 30 Sep, 8, 9, 10 (make-up), 12, 13 Oct: the holiday week does not count.
    assert waiting.idle_working_days == 7
    assert items[4].idle_working_days == 1
    assert items[0].idle_working_days == 7 and items[0].days_overdue == 3
    # Two working days: the task opened on the 12th is no longer idle enough.
    assert seeded.on_time.case_id not in ids(queries.stuck(CITY_SUPERVISOR, now=NOW, idle_days=2))
    assert seeded.waiting.case_id in ids(queries.stuck(CITY_SUPERVISOR, now=NOW, idle_days=7))
    assert seeded.waiting.case_id not in ids(queries.stuck(CITY_SUPERVISOR, now=NOW, idle_days=8))


def test_overdue_only_with_idle_days_means_past_due_and_idle(
    seeded: Seeded, queries: SupervisorQueries
) -> None:
    # `late` had its escalation recorded on the 13th, `recent_late` a comment today.
    assert ids(queries.stuck(CITY_SUPERVISOR, now=NOW, overdue_only=True, idle_days=1)) == [
        seeded.tongzhou_late.case_id,
        seeded.city.case_id,
    ]
    assert ids(queries.stuck(CITY_SUPERVISOR, now=NOW, overdue_only=True)) == ids(
        queries.stuck(CITY_SUPERVISOR, now=NOW)
    )


def test_only_supervisors_see_other_officers_queues(
    seeded: Seeded, queries: SupervisorQueries
) -> None:
    with pytest.raises(SupervisionRefused) as refused:
        queries.stuck(OFFICER, now=NOW)
    assert refused.value.code == "role_not_held"
    with pytest.raises(SupervisionRefused):
        queries.stuck(OFFICER, now=NOW, assignee="chongchuan.grassroots3")
    with pytest.raises(SupervisionRefused):
        queries.board(OFFICER, now=NOW)
    # Their own queue is theirs to see.
    assert ids(queries.stuck(OFFICER, now=NOW, assignee=OFFICER.id)) == [seeded.late.case_id]
    # A supervisor may look at one officer's.
    assert ids(queries.stuck(CHONGCHUAN_SUPERVISOR, now=NOW, assignee=GRASSROOTS2.id)) == [
        seeded.late.case_id
    ]


def test_a_case_acted_on_leaves_the_list(
    store: EventStore, seeded: Seeded, queries: SupervisorQueries
) -> None:
    at_time(seeded.recent_late, NOW).act(
        SUPERVISOR_ACTOR, Action.EXTEND, "补材料中", {"until": "2026-10-23"}
    )
    at_time(seeded.late, NOW).act(GRASSROOTS2, Action.APPROVE, "材料齐全")
    assert ids(queries.stuck(CHONGCHUAN_SUPERVISOR, now=NOW + timedelta(minutes=5))) == []


# -- board ---------------------------------------------------------------------------------


def opened(case: DomainCase) -> datetime:
    assert case.state.task is not None
    return case.state.task.opened_at


def test_board_counts_per_queue_and_stage(seeded: Seeded, queries: SupervisorQueries) -> None:
    rows = {(r.district, r.stage): r for r in queries.board(CITY_SUPERVISOR, now=NOW)}
    assert set(rows) == {
        ("崇川区", "grassroots_review"),
        ("通州区", "grassroots_review"),
        (CITY, "city_review"),
    }
    chongchuan = rows[("崇川区", "grassroots_review")]
    assert (chongchuan.open, chongchuan.overdue, chongchuan.escalated) == (5, 2, 1)
    ages = sorted(
        (NOW - opened(c)).total_seconds() / 86_400
        for c in (seeded.late, seeded.recent_late, seeded.on_time, seeded.waiting, seeded.extended)
    )
    assert chongchuan.median_age_days == round(ages[2], 1)
    tongzhou = rows[("通州区", "grassroots_review")]
    assert (tongzhou.open, tongzhou.overdue, tongzhou.escalated) == (1, 1, 0)
    assert tongzhou.median_age_days == round(
        (NOW - opened(seeded.tongzhou_late)).total_seconds() / 86_400, 1
    )
    city = rows[(CITY, "city_review")]
    assert (city.open, city.overdue, city.escalated) == (1, 1, 0)
    # Past due depends on when one looks: on Monday the 12th only `late` was; on the
    # 21st `on_time` (due the 19th) and `extended` (the 20th) are too.
    earlier = queries.board(CITY_SUPERVISOR, now=datetime(2026, 10, 12, 2, tzinfo=UTC))
    assert {(r.district, r.stage): r.overdue for r in earlier}[("崇川区", "grassroots_review")] == 1
    later = queries.board(CITY_SUPERVISOR, now=datetime(2026, 10, 21, 2, tzinfo=UTC))
    assert {(r.district, r.stage): r.overdue for r in later}[("崇川区", "grassroots_review")] == 4
    # Districts in their order, the city queue last.
    assert [r.district for r in queries.board(CITY_SUPERVISOR, now=NOW)] == [
        "崇川区",
        "通州区",
        CITY,
    ]


def test_board_of_a_district_supervisor_and_an_even_median(
    store: EventStore, seeded: Seeded, queries: SupervisorQueries
) -> None:
    rows = queries.board(CHONGCHUAN_SUPERVISOR, now=NOW)
    assert [(r.district, r.stage) for r in rows] == [("崇川区", "grassroots_review")]
    DomainCase(store, "HR-2026-000009", start=at(10, 13)).open()
    row = queries.board(CHONGCHUAN_SUPERVISOR, now=NOW)[0]
    assert row.open == 6
    ages = sorted(
        (NOW - opened(c)).total_seconds() / 86_400
        for c in (seeded.late, seeded.recent_late, seeded.on_time, seeded.waiting, seeded.extended)
    )
    ages.append((NOW - at(10, 13, 2)).total_seconds() / 86_400)
    ages.sort()
    assert row.median_age_days == pytest.approx((ages[2] + ages[3]) / 2, abs=0.051)


def test_an_empty_store_gives_an_empty_board_and_list(queries: SupervisorQueries) -> None:
    assert queries.board(CITY_SUPERVISOR, now=NOW) == []
    assert queries.stuck(CITY_SUPERVISOR, now=NOW, idle_days=3) == []


# -- open tasks of one officer, the clock of one task --------------------------------------


def test_open_tasks_of_an_officer(seeded: Seeded, queries: SupervisorQueries) -> None:
    tasks = queries.open_tasks(CHONGCHUAN_SUPERVISOR, GRASSROOTS2.id)
    assert [(t.case_id, t.stage, t.status) for t in tasks] == [
        (seeded.late.case_id, "grassroots_review", "open"),
        (seeded.waiting.case_id, "grassroots_review", "waiting_info"),
    ]
    with pytest.raises(SupervisionRefused):
        queries.open_tasks(OFFICER, "chongchuan.grassroots3")


def test_task_clock_counts_working_days_used_and_left(store: EventStore, seeded: Seeded) -> None:
    def clock(case: DomainCase, now: datetime = NOW):  # type: ignore[no-untyped-def]
        events = [e.as_new_event() for e in store.read(case.case_id)]
        return task_clock(case.state, events, now)

    late = clock(seeded.late)
    assert late is not None
    # Opened Mon 28 Sep: 29, 30 Sep, 8, 9, 10, 12, 13, 14 Oct are used; 3 days late.
    assert (late.working_days_used, late.working_days_left, late.days_overdue) == (8, -3, 3)
    assert late.overdue and late.escalated and not late.paused and late.pauses == []

    on_time = clock(seeded.on_time)
    assert on_time is not None
    # Opened Mon 12 Oct, due end of Mon 19 Oct: 13, 14 used; 15, 16, 19 left.
    assert (on_time.working_days_used, on_time.working_days_left) == (2, 3)
    assert not on_time.overdue

    waiting = clock(seeded.waiting)
    assert waiting is not None and waiting.paused and waiting.pause_reason == "info"
    # The clock stopped on the day it opened.
    assert waiting.working_days_used == 0
    assert len(waiting.pauses) == 1 and waiting.pauses[0].ended_at is None

    # Information provided on Fri 9 Oct: the pause (29 Sep .. 9 Oct) does not count.
    at_time(seeded.waiting, at(10, 9, 2)).act(GRASSROOTS3, Action.PROVIDE_INFO, "已补充")
    resumed = clock(seeded.waiting)
    assert resumed is not None and not resumed.paused
    assert [(p.reason, p.ended_at is not None) for p in resumed.pauses] == [("info", True)]
    # 29, 30 Sep, 8, 9 Oct were paused; 10, 12, 13, 14 Oct are used.
    assert resumed.working_days_used == 4
    assert clock(seeded.closed) is None


# -- working days --------------------------------------------------------------------------


def test_working_day_index_agrees_with_the_calendar() -> None:
    index = WorkingDayIndex(STATUTORY)
    start = date(2026, 9, 1)
    for a in range(0, 60, 3):
        for b in range(a, 70, 5):
            first = datetime.combine(start + timedelta(days=a), datetime.min.time(), UTC)
            last = datetime.combine(start + timedelta(days=b), datetime.min.time(), UTC)
            first += timedelta(hours=4)  # noon in Beijing: the same local date
            last += timedelta(hours=4)
            assert index.between(
                start + timedelta(days=a), start + timedelta(days=b)
            ) == STATUTORY.working_days_between(first, last)
    # back(): the n-th working day before a date, across the holiday week
    assert index.back(date(2026, 10, 9), 1) == date(2026, 10, 8)
    assert index.back(date(2026, 10, 9), 2) == date(2026, 9, 30)
    assert index.back(date(2026, 10, 12), 1) == date(2026, 10, 10)  # the make-up Saturday
    assert index.back(date(2027, 1, 4), 400) < date(2025, 6, 1)


def test_days_overdue_and_the_idle_cutoff_across_the_national_day_week() -> None:
    index = WorkingDayIndex(STATUTORY)
    due = datetime(2026, 9, 30, 16, 0, tzinfo=UTC)  # end of Wed 30 Sep, Beijing time
    assert days_overdue(index, due, datetime(2026, 10, 5, 2, tzinfo=UTC)) == 0  # holiday
    assert days_overdue(index, due, datetime(2026, 10, 8, 2, tzinfo=UTC)) == 1
    assert days_overdue(index, due, datetime(2026, 10, 12, 2, tzinfo=UTC)) == 4
    assert days_overdue(index, due, due) == 0
    friday = datetime(2026, 10, 9, 2, tzinfo=UTC)
    assert idle_cutoff(index, friday, 1) == datetime(2026, 10, 7, 16, tzinfo=UTC)  # 8 Oct 0:00
    assert idle_cutoff(index, friday, 2) == datetime(2026, 9, 29, 16, tzinfo=UTC)  # 30 Sep
    assert idle_cutoff(index, friday, 0) == datetime(2026, 10, 8, 16, tzinfo=UTC)  # today


def open_task_day_counts(engine: Engine) -> tuple[dict[tuple[str, str, str], int], ...]:
    """The projection's day counts beside the same counts taken from `case_tasks`."""
    with engine.connect() as conn:
        kept = {
            (d, s, day): n
            for d, s, day, n in conn.execute(
                sa.select(
                    open_task_days.c.district,
                    open_task_days.c.stage,
                    open_task_days.c.day,
                    open_task_days.c.n,
                ).where(open_task_days.c.n != 0)
            )
        }
        counted: dict[tuple[str, str, str], int] = {}
        for d, s, opened_at in conn.execute(
            sa.select(case_tasks.c.district, case_tasks.c.stage, case_tasks.c.opened_at).where(
                case_tasks.c.status.in_(("open", "waiting_info"))
            )
        ):
            key = (d, s, opened_at.astimezone(UTC).date().isoformat())
            counted[key] = counted.get(key, 0) + 1
    return kept, counted


def test_the_day_counts_follow_tasks_opening_closing_and_cases_ending(
    engine: Engine, store: EventStore, seeded: Seeded, queries: SupervisorQueries
) -> None:
    """The board's day counts are the open tasks of `case_tasks`, through approvals
    (a task closes, the next opens), returns, a withdrawal and a rebuild."""
    kept, counted = open_task_day_counts(engine)
    assert kept == counted and sum(kept.values()) == 7
    at_time(seeded.late, NOW).act(GRASSROOTS2, Action.APPROVE, "材料齐全")  # -> home visit
    case = DomainCase(store, "HR-2026-000021", start=at(10, 9)).to_district_review()
    case.act(DISTRICT_OFFICER, Action.APPROVE).act(DISTRICT_LEADER, Action.RETURN, "补票据")
    DomainCase(store, "HR-2026-000022", start=at(10, 12)).open().act(
        OPENER, Action.WITHDRAW, "申请人撤回"
    )
    kept, counted = open_task_day_counts(engine)
    assert kept == counted and sum(kept.values()) == 8
    before = queries.board(CITY_SUPERVISOR, now=NOW)
    rows = projections.projection_snapshot(engine)
    projections.rebuild(engine)
    assert projections.projection_snapshot(engine) == rows  # no day left at zero
    assert open_task_day_counts(engine)[0] == kept
    assert queries.board(CITY_SUPERVISOR, now=NOW) == before


def every_open_task_grouped(
    engine: Engine, now: datetime
) -> dict[tuple[str, str], tuple[int, int, int, float]]:
    """The board worked out the slow way: every open task read and grouped here, with
    the median's opening time (the mean of the two middle ones when the count is even)."""
    groups: dict[tuple[str, str], list[tuple[datetime, bool, bool]]] = {}
    with engine.connect() as conn:
        for d, s, opened, due, paused, escalated in conn.execute(
            sa.select(
                case_tasks.c.district,
                case_tasks.c.stage,
                case_tasks.c.opened_at,
                case_tasks.c.due_at,
                case_tasks.c.paused,
                case_tasks.c.escalated,
            ).where(case_tasks.c.status.in_(("open", "waiting_info")))
        ):
            past_due = not paused and due is not None and due < now
            groups.setdefault((d, s), []).append((opened, past_due, bool(escalated)))
    out = {}
    for key, tasks in groups.items():
        times = sorted(t.timestamp() for t, _p, _e in tasks)
        n = len(times)
        out[key] = (
            n,
            sum(p for _t, p, _e in tasks),
            sum(e for _t, _p, e in tasks),
            (times[(n - 1) // 2] + times[n // 2]) / 2,
        )
    return out


@pytest.mark.parametrize("district", [None, "崇川区"])
def test_the_board_from_day_counts_equals_one_pass_over_every_open_task(
    engine: Engine,
    store: EventStore,
    seeded: Seeded,
    queries: SupervisorQueries,
    district: str | None,
) -> None:
    """The board places each group's middle task(s) from the day counts; grouping every
    open task must give the same rows (odd and even groups, medians across days and
    inside one day, the whole city and one district)."""
    for n, day in enumerate((9, 9, 10, 12, 13, 13, 13)):
        DomainCase(store, f"HR-2026-0001{n:02d}", start=at(10, day, 1 + n)).open()
    board = queries._board_sqlite if engine.dialect.name == "sqlite" else queries._board_postgres
    for now in (NOW, datetime(2026, 10, 21, 2, tzinfo=UTC)):
        reference = {
            k: v
            for k, v in every_open_task_grouped(engine, now).items()
            if district is None or k[0] == district
        }
        assert reference
        found = board(district, now)
        assert {
            k: (n, o, e, sum(t.timestamp() for t in m) / len(m))
            for k, (n, o, e, m) in found.items()
        } == reference
