"""Demo data for a town: loaded through the services' own commands, idempotent by request id."""
import json
import os
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ADMIN_ROLES = ["admin", "affaires_scolaires", "petite_enfance"]
DEFAULT_AGENT_USERNAME = "admin"
DEFAULT_AGENT_PASSWORD = "Donges-Mairie-2026!"

DEMO_FAMILIES = (
    {
        "request_id": "demo-family-martin",
        "representatives": [
            {"first_name": "Claire", "last_name": "Martin", "email": "claire.martin@example.org", "phone": "06 12 34 56 78",
             "address": {"line1": "12 rue de la Gare", "line2": "", "postal_code": "44480", "city": "Donges"},
             "caf_number": "1234567"},
            {"first_name": "Julien", "last_name": "Martin", "email": "julien.martin@example.org", "phone": "06 98 76 54 32",
             "address": {"line1": "12 rue de la Gare", "line2": "", "postal_code": "44480", "city": "Donges"}},
        ],
        "children": [
            {"first_name": "Léa", "last_name": "Martin", "birth_date": "2018-04-17"},
            {"first_name": "Hugo", "last_name": "Martin", "birth_date": "2020-09-03"},
        ],
    },
    {
        "request_id": "demo-family-le-goff",
        "representatives": [
            {"first_name": "Nadia", "last_name": "Le Goff", "email": "nadia.legoff@example.org", "phone": "07 11 22 33 44",
             "address": {"line1": "3 allée des Marais", "line2": "Résidence Les Ajoncs", "postal_code": "44480", "city": "Donges"}},
        ],
        "children": [
            {"first_name": "Inès", "last_name": "Le Goff", "birth_date": "2024-02-11"},
        ],
    },
    {
        "request_id": "demo-family-bernard",
        "representatives": [
            {"first_name": "Sophie", "last_name": "Bernard", "email": "sophie.bernard@example.org", "phone": "06 55 44 33 22",
             "address": {"line1": "8 route de Savenay", "line2": "", "postal_code": "44480", "city": "Donges"}},
        ],
        "children": [
            {"first_name": "Tom", "last_name": "Bernard", "birth_date": "2017-11-30"},
            {"first_name": "Jade", "last_name": "Bernard", "birth_date": "2019-06-08"},
            {"first_name": "Louis", "last_name": "Bernard", "birth_date": "2023-01-21"},
        ],
    },
    {
        "request_id": "demo-family-roux",
        "representatives": [
            {"first_name": "Camille", "last_name": "Roux", "email": "camille.roux@example.org", "phone": "06 70 80 90 10",
             "address": {"line1": "21 rue Aristide Briand", "line2": "", "postal_code": "44480", "city": "Donges"}},
        ],
        "children": [
            {"first_name": "Mila", "last_name": "Roux", "birth_date": "2025-06-15"},
        ],
    },
)


def agent_credentials(environ=os.environ):
    return (environ.get("DEMO_AGENT_USERNAME") or DEFAULT_AGENT_USERNAME,
            environ.get("DEMO_AGENT_PASSWORD") or DEFAULT_AGENT_PASSWORD)


def ensure_admin_agent(client, environ=os.environ):
    """Create or update the administrator from DEMO_AGENT_USERNAME / DEMO_AGENT_PASSWORD, at every start."""
    username, password = agent_credentials(environ)
    return client.call("identity", "ensure_agent", username, password, ADMIN_ROLES, timeout=30)


def load_demo_data(client):
    """Register the demo families; running it again creates nothing twice."""
    return [client.call("identity", "register_family", family, timeout=30) for family in DEMO_FAMILIES]


def demo_keys(client, families, saved_path):
    """A usable key for each demo representative without an account, printed at every start.

    Keys are kept in var/ (local runs only) and reused while still valid, so a
    restart issues no new key; a used, revoked or expired one is replaced.
    """
    saved = json.loads(saved_path.read_text()) if saved_path.exists() else {}
    now = datetime.now(timezone.utc)
    keys = []
    for family in families:
        state = client.call("identity", "family_for_agent", family["id"], timeout=30)
        for rep in state["representatives"]:
            name = f"{rep['first_name']} {rep['last_name']}"
            if rep["has_account"]:
                keys.append((name, None))
                continue
            current, remembered = rep["key"], saved.get(rep["id"])
            still_valid = (current and remembered and not current["used"]
                           and current["expires_at"] == remembered["expires_at"]
                           and datetime.fromisoformat(current["expires_at"]) > now)
            if not still_valid:
                issued = client.call("identity", "issue_key", rep["id"], timeout=30)
                remembered = saved[rep["id"]] = {"key": issued["key"], "expires_at": issued["expires_at"]}
            keys.append((name, remembered["key"]))
    saved_path.write_text(json.dumps(saved, indent=1))
    saved_path.chmod(0o600)
    return keys


DEMO_SCHOOLS = (
    ("École publique Jules Verne", "public"),
    ("École publique Simone Veil", "public"),
    ("École privée St Joseph", "private"),
)
# Which school each demo child goes to (by first name), and in which class.
DEMO_ENROLMENTS = {"Léa": (0, "CE2"), "Hugo": (0, "GS"), "Tom": (2, "CM2"), "Jade": (1, "CE1")}
HOLIDAYS_FILE = Path(__file__).with_name("zone_b_holidays.ics")
DEMO_MENU_WEEK = (
    [{"course": "entree", "name": "Carottes râpées", "allergens": [], "labels": ["bio", "local"]},
     {"course": "plat", "name": "Sauté de dinde, riz", "allergens": [], "labels": ["label_rouge"]},
     {"course": "dessert", "name": "Yaourt nature", "allergens": ["lait"], "labels": ["bio"]}],
    [{"course": "entree", "name": "Potage de légumes", "allergens": ["celeri"], "labels": ["local"]},
     {"course": "plat", "name": "Lasagnes aux légumes", "allergens": ["gluten", "lait"], "labels": ["vegetarien"]},
     {"course": "dessert", "name": "Pomme", "allergens": [], "labels": ["local"]}],
    [{"course": "entree", "name": "Salade de lentilles", "allergens": ["moutarde"], "labels": []},
     {"course": "plat", "name": "Filet de colin, purée", "allergens": ["poissons", "lait"], "labels": ["peche_durable"]},
     {"course": "dessert", "name": "Compote", "allergens": [], "labels": ["bio"]}],
    [{"course": "entree", "name": "Betteraves", "allergens": [], "labels": ["local"]},
     {"course": "plat", "name": "Omelette, haricots verts", "allergens": ["oeufs"], "labels": ["vegetarien"]},
     {"course": "dessert", "name": "Fromage blanc", "allergens": ["lait"], "labels": []}],
)


def load_canteen_demo(client, families, today=None):
    """Schools, the zone B calendar, enrolments of the demo children and this week's and next week's menus."""
    today = today or date.today()
    schools = [client.call("canteen", "add_school", name, kind, timeout=30) for name, kind in DEMO_SCHOOLS]
    client.call("canteen", "import_holidays", HOLIDAYS_FILE.read_text(encoding="utf-8"), timeout=30)
    # This school year and the next, as the canteen service counts them.
    for year in client.call("canteen", "school_directory", timeout=30)["school_years"]:
        for family in families:
            for child in family["children"]:
                if child["first_name"] in DEMO_ENROLMENTS:
                    school_index, class_name = DEMO_ENROLMENTS[child["first_name"]]
                    school_id = schools[school_index]["id"]
                    klass = client.call("canteen", "add_class", school_id, year, class_name, timeout=30)
                    client.call("canteen", "enrol", child["id"], school_id, year, klass["id"], timeout=30)
    monday = today - timedelta(days=today.weekday())
    for week in (0, 7):
        for offset, courses in zip((0, 1, 3, 4), DEMO_MENU_WEEK):
            client.call("canteen", "set_menu", (monday + timedelta(days=week + offset)).isoformat(), courses, timeout=30)
    return schools


def wait_for_projection(client, families, timeout=30):
    """Canteen learns the families from identity's events: wait until it knows the demo children."""
    import time
    deadline = time.monotonic() + timeout
    for family in families:
        while len(client.call("canteen", "family_children", family["id"])) < len(family["children"]):
            if time.monotonic() > deadline:
                raise TimeoutError("canteen did not receive the demo families from identity")
            time.sleep(0.2)


# --- The crèche ("Bout D'chou") -------------------------------------------------------------------------------

# Who the crèche knows (by first name): occasional care, or regular care with a contract.
DEMO_CHILDCARE_OCCASIONAL = ("Inès", "Louis")
DEMO_CHILDCARE_REGULAR = "Mila"
DEMO_CONTRACT_HOURS = {"1": ["08:30", "17:00"], "2": ["08:30", "17:00"], "4": ["08:30", "16:30"]}
DEMO_CHILDCARE_NEWS = (
    ("practical", "Horaires et fermetures",
     "Le multi-accueil est ouvert du lundi au vendredi de 7h30 à 18h30. Il ferme les jours fériés, trois semaines "
     "en août et lors des journées pédagogiques annoncées ici.\n\nMulti-accueil « Bout D'chou » : 02 40 91 01 91."),
    ("practical", "Ce qu'il faut apporter",
     "Une tenue de rechange, le doudou et la tétine s'il en a besoin, et pour les plus petits le lait maternisé "
     "habituel. Les couches et les repas sont fournis par la crèche."),
    ("news", "Semaine du goût au multi-accueil",
     "Du 12 au 16 octobre, les enfants ont découvert les légumes du potager de la crèche. Merci aux familles "
     "venues partager le goûter du vendredi !"),
)


def _childcare_children(client, families, timeout=30):
    """{first name: child} once childcare's projection (fed by identity's events) knows every demo child."""
    import time
    deadline = time.monotonic() + timeout
    known = {}
    for family in families:
        while len(known_here := client.call("childcare", "family_children", family["id"], timeout=30)) < len(family["children"]):
            if time.monotonic() > deadline:
                raise TimeoutError("childcare did not receive the demo families from identity")
            time.sleep(0.2)
        for child in known_here:
            known[child["first_name"]] = {**child, "family_id": family["id"]}
    return known


def _ignore_refusal(call, *args):
    """Demo steps run at every start: a booking already made, or a day already past, is refused, and fine."""
    from espace_common.rpc_client import RemoteError
    try:
        return call(*args)
    except RemoteError as exc:
        if not exc.is_domain_error:
            raise
        return None


def _opening_days(start, end):
    """Weekdays that are not public holidays: the days the crèche opens by default."""
    from espace_common.french_calendar import french_public_holidays
    day = start
    while day <= end:
        if day.isoweekday() <= 5 and day not in french_public_holidays(day.year):
            yield day
        day += timedelta(days=1)


def load_childcare_demo(client, families, today=None):
    """The crèche: its slots for the coming weeks, a training day, two children in occasional care with bookings
    (one slot full with a waiting list), one regular contract, last month's attendance, news and practical pages."""
    today = today or date.today()
    children = _childcare_children(client, families)
    call = lambda method, *args: client.call("childcare", method, *args, timeout=30)  # noqa: E731
    call("generate_slots")
    for name in DEMO_CHILDCARE_OCCASIONAL:
        call("register", children[name]["child_id"], "occasional")
    first_of_month = today.replace(day=1)
    start = (first_of_month - timedelta(days=1)).replace(day=1)  # the contract began last month
    end = (start + timedelta(days=360)).replace(day=1) - timedelta(days=1)
    mila = children[DEMO_CHILDCARE_REGULAR]
    call("register", mila["child_id"], "regular", {"weekly_hours": DEMO_CONTRACT_HOURS, "weeks_per_year": 45,
                                                   "start": start.isoformat(), "end": end.isoformat(), "leave_days": 15})
    # Next week: Inès books two mornings; the Tuesday afternoon has one place, taken by Inès, and Louis waits.
    monday = today + timedelta(days=7 - today.weekday())
    slots = call("slots", monday.isoformat(), (monday + timedelta(days=4)).isoformat())
    by_time = {(s["date"], s["start"]): s for s in slots}
    ines, louis = children["Inès"], children["Louis"]
    for day, start_time in ((monday, "08:00"), (monday + timedelta(days=3), "08:00")):
        slot = by_time.get((day.isoformat(), start_time))
        if slot:
            _ignore_refusal(call, "book", ines["family_id"], ines["child_id"], slot["id"], None)
    full = by_time.get(((monday + timedelta(days=1)).isoformat(), "13:30"))
    if full:
        _ignore_refusal(call, "set_capacity", full["id"], 1)
        _ignore_refusal(call, "book", ines["family_id"], ines["child_id"], full["id"], None)
        _ignore_refusal(call, "book", louis["family_id"], louis["child_id"], full["id"], None)
    call("close_day", (monday + timedelta(days=16)).isoformat(), "training", "journée pédagogique de l'équipe")
    # Last month's attendance: Mila on her contract days, Inès two mornings without booking.
    last_month_end = first_of_month - timedelta(days=1)
    for day in _opening_days(start, last_month_end):
        if str(day.isoweekday()) in DEMO_CONTRACT_HOURS:
            _ignore_refusal(call, "record_attendance", mila["child_id"], day.isoformat(), "08:35", "16:50")
    for day in list(_opening_days(start, last_month_end))[2:12:5]:
        _ignore_refusal(call, "record_attendance", ines["child_id"], day.isoformat(), "08:10", "11:55")
    for kind, title, body in DEMO_CHILDCARE_NEWS:
        call("publish_news", title, body, kind)
    return children


# --- Billing: the council's grids, the families' resources, last month's canteen --------------------------------

DEMO_AGENT_ID = "demo"
# The council's canteen grid (school year 2025-2026): five family-quotient brackets, the surcharged price of a meal
# eaten without reservation and the basket-meal (PAI) price.
DEMO_CANTEEN_GRID = {
    "from": "2025-09-01", "unreserved_meal_price_cents": 520, "pai_meal_price_cents": 120,
    "brackets": [{"quotient_max": 400, "meal_price_cents": 100}, {"quotient_max": 700, "meal_price_cents": 190},
                 {"quotient_max": 1000, "meal_price_cents": 285}, {"quotient_max": 1400, "meal_price_cents": 360},
                 {"quotient_max": None, "meal_price_cents": 415}]}
# The PSU figures of the CNAF (design): floor 801,00 €, ceiling 7 000,00 € then 8 500,00 € from 1 September 2025,
# effort rates by number of dependent children.
DEMO_EFFORT_RATES = [{"children_from": 1, "percent": "0.0619"}, {"children_from": 2, "percent": "0.0516"},
                     {"children_from": 3, "percent": "0.0413"}, {"children_from": 4, "percent": "0.0310"},
                     {"children_from": 8, "percent": "0.0206"}]
DEMO_PSU_GRIDS = (
    {"from": "2025-01-01", "floor_cents": 80100, "ceiling_cents": 700000, "effort_rates": DEMO_EFFORT_RATES},
    {"from": "2025-09-01", "floor_cents": 80100, "ceiling_cents": 850000, "effort_rates": DEMO_EFFORT_RATES},
)
# Each family's quotient, monthly resources (cents) and dependent children, by the request id that registered it;
# the Bernard family gave none: it is billed at the highest bracket and at the PSU ceiling.
DEMO_RESOURCES = {"demo-family-martin": (850, 238400, 2), "demo-family-le-goff": (520, 165000, 1),
                  "demo-family-roux": (1250, 390000, 1)}
DEMO_PAI = ("Jade",)  # brings a basket meal (PAI)
# Last month at the canteen, by first name: the weekdays reserved (None: every school day), and the weekdays the
# child also ate without a reservation, the first week only.
DEMO_CANTEEN_MONTH = {"Léa": (None, ()), "Hugo": ((1, 2, 4), (5,)), "Tom": ((1, 4), (2, 5)), "Jade": (None, ())}


def load_billing_demo(client, families, today=None):
    """Both régies' dated grids, the demo families' resources (one family without), and last month's canteen
    (meals reserved, eaten without reservation, a basket meal); the crèche's last month comes from
    load_childcare_demo. An agent can then run last month's invoicing. Running it again creates nothing twice."""
    today = today or date.today()
    call = lambda service, method, *args: client.call(service, method, *args, timeout=30)  # noqa: E731
    call("billing", "add_tariff_grid", "affaires_scolaires", DEMO_CANTEEN_GRID, DEMO_AGENT_ID)
    for grid in DEMO_PSU_GRIDS:
        call("billing", "add_tariff_grid", "petite_enfance", grid, DEMO_AGENT_ID)
    last = today.replace(day=1) - timedelta(days=1)
    first = last.replace(day=1)
    valid_from = date(first.year, 1, 1).isoformat()  # the CAF quotient of January
    for spec, family in zip(DEMO_FAMILIES, families):
        if spec["request_id"] not in DEMO_RESOURCES:
            continue
        quotient, monthly, children = DEMO_RESOURCES[spec["request_id"]]
        known = call("billing", "family_resources", family["id"])["history"]
        if not any(entry["from"] == valid_from for entry in known):
            call("billing", "set_family_resources", family["id"], {
                "from": valid_from, "quotient": quotient, "monthly_resources_cents": monthly,
                "dependent_children": children, "disability": False}, DEMO_AGENT_ID)
    _last_month_at_the_canteen(call, families, first, last, today)


def _last_month_at_the_canteen(call, families, first, last, today):
    children = {c["first_name"]: c["id"] for family in families for c in family["children"]}
    for name in DEMO_PAI:
        call("canteen", "set_diet", children[name], "standard", True)
    start_year = first.year if first.month >= 9 else first.year - 1
    year = f"{start_year}-{start_year + 1}"  # last month's school year, as canteen counts them
    schools = {s["name"]: s["id"] for s in call("canteen", "list_schools")}
    school_of = {}
    for name, (index, class_name) in DEMO_ENROLMENTS.items():
        school_id = schools[DEMO_SCHOOLS[index][0]]
        school_of[name] = school_id
        klass = call("canteen", "add_class", school_id, year, class_name)
        call("canteen", "enrol", children[name], school_id, year, klass["id"])
    days = [date.fromisoformat(d["date"]) for d in call("canteen", "school_days", first.isoformat(), last.isoformat())
            if d["open"] and date.fromisoformat(d["date"]) < today]
    if not days:
        return  # a month without school (August): nothing eaten
    first_week = {d for d in days if d < days[0] + timedelta(days=7)}
    eaten_on = {}
    for name, (weekdays, extra) in DEMO_CANTEEN_MONTH.items():
        reserved = [d for d in days if weekdays is None or d.isoweekday() in weekdays]
        if reserved:
            call("canteen", "regularise_reservations", children[name], [d.isoformat() for d in reserved])
        # Léa was away on the last Monday without telling: her reserved meal is billed, not eaten.
        skipped = {max((d for d in reserved if d.isoweekday() == 1), default=None)} if name == "Léa" else set()
        for day in set(reserved) - skipped | {d for d in first_week if d.isoweekday() in extra}:
            eaten_on.setdefault((school_of[name], day), []).append(children[name])
    for (school_id, day), eaten in sorted(eaten_on.items(), key=lambda item: (item[0][1], item[0][0])):
        call("canteen", "record_attendance", school_id, day.isoformat(), sorted(eaten))
