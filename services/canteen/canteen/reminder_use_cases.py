"""What identity's reminders ask the canteen (issue #12): next week's first deadline, and the children who usually
eat and have nothing reserved that week. Read-only; the rules are in domain_reminders.py."""
from datetime import timedelta

from . import domain_reminders as rules
from . import reminder_store, store
from .domain import school_year_of


class CanteenReminders:
    def __init__(self, unit_of_work, clock, rules_):
        self.unit_of_work = unit_of_work
        self.clock = clock
        self.rules = rules_

    def reminder_week(self, week):
        """{week, first_deadline}: the earliest deadline still ahead among the week's school days (ISO, or None
        when the week has no school day or every deadline has passed)."""
        week = rules.parse_week(week)
        with self.unit_of_work(read_only=True) as uow:
            calendar = store.calendar(uow, week, week + timedelta(days=6))
        deadline = rules.first_deadline(week, calendar, self.rules, self.clock.now())
        return {"week": week.isoformat(), "first_deadline": deadline.isoformat() if deadline else None}

    def children_to_remind(self, week, usual_weeks=4, usual_min_weeks=2):
        """Each (family, child) enrolled that week who usually eats, has no meal reserved in the week and still
        has days to reserve: {week, children: [{family_id, child_id, first_name, days, deadline}]}. A child of two
        families is answered once for each."""
        week = rules.parse_week(week)
        usual_weeks, usual_min_weeks = rules.parse_usual(usual_weeks, usual_min_weeks)
        now = self.clock.now()
        week_end = week + timedelta(days=6)
        look_back = week - timedelta(weeks=rules.LOOK_BACK_WEEKS)
        with self.unit_of_work(read_only=True) as uow:
            calendar = store.calendar(uow, look_back, week_end)
            pairs = reminder_store.enrolled_pairs(uow, {school_year_of(week), school_year_of(week_end)})
            child_ids = sorted({p.child_id for p in pairs})
            reserved = reminder_store.reservations_between(uow, child_ids, look_back, week_end)
            absent = reminder_store.absences_between(uow, child_ids, week, week_end)
            enrolled = store.enrolled_years(uow, child_ids) if child_ids else {}
        school_weeks = rules.recent_school_weeks(week, calendar, self.rules, usual_weeks)
        children = []
        for pair in pairs:
            days = reserved[pair.child_id]
            if not rules.usually_eats({d for d in days if d < week}, school_weeks, usual_min_weeks):
                continue
            found = rules.to_remind(week, calendar, self.rules, now, {d for d in days if d >= week},
                                    absent[pair.child_id], enrolled[pair.child_id])
            if found:
                open_days, deadline = found
                children.append({"family_id": pair.family_id, "child_id": pair.child_id,
                                 "first_name": pair.first_name, "days": [d.isoformat() for d in open_days],
                                 "deadline": deadline.isoformat()})
        return {"week": week.isoformat(), "children": children}
