"""The month that proves billing: November 2025 of canteen and crèche activity for four families, built through
the real services (the whole suite on SQLite), invoiced by both régies and checked line by line against amounts
computed by hand here; then finalised, paid in cash, paid in part, and cancelled by a credit note.

The services live in November 2025 by EF_CLOCK (a test process's clock that starts at a given instant and runs
on): on 20 October the parents reserve and report absences before their deadlines; on 12 November a parent
cancels a crèche slot too late; on 3 December the school's tablet sends who ate and billing runs the month.

Billing's RPCs are called directly; canteen attendance goes through the gateway's API with the kitchen's scope.
"""
import base64
import io
import re
import time
import uuid

import pytest
import requests

from espace_common.rpc_client import RemoteError, RpcClient
from espace_deploy.testing import computed_run, start_suite, stop_suite

pytestmark = [pytest.mark.broker, pytest.mark.slow]

OCTOBER_20 = "2025-10-20T09:00:00+02:00"  # Monday: November is far enough for every deadline
NOVEMBER_12 = "2025-11-12T10:00:00+01:00"  # Wednesday: the 13th's afternoon slot starts in 27 h 30
DECEMBER_3 = "2025-12-03T09:00:00+01:00"  # Wednesday: November is over, the attendance is in, billing runs
MONTH, YEAR = "2025-11", "2025-2026"
AGENT = "agent-month"
NBSP, NNBSP = "\u00a0", "\u202f"

# The council's grids: five quotient brackets, the surcharged and the basket (PAI) prices, a new grid from the
# 17th (a tariff change in the middle of the month); the PSU figures of the design, the ceiling raised on
# 1 September 2025.
CANTEEN_SEPTEMBER = {"from": "2025-09-01", "unreserved_meal_price_cents": 520, "pai_meal_price_cents": 120,
                     "brackets": [{"quotient_max": 400, "meal_price_cents": 100},
                                  {"quotient_max": 700, "meal_price_cents": 190},
                                  {"quotient_max": 1000, "meal_price_cents": 285},
                                  {"quotient_max": 1400, "meal_price_cents": 360},
                                  {"quotient_max": None, "meal_price_cents": 415}]}
CANTEEN_NOVEMBER_17 = {"from": "2025-11-17", "unreserved_meal_price_cents": 540, "pai_meal_price_cents": 125,
                       "brackets": [{"quotient_max": 400, "meal_price_cents": 105},
                                    {"quotient_max": 700, "meal_price_cents": 195},
                                    {"quotient_max": 1000, "meal_price_cents": 295},
                                    {"quotient_max": 1400, "meal_price_cents": 370},
                                    {"quotient_max": None, "meal_price_cents": 430}]}
EFFORT_RATES = [{"children_from": 1, "percent": "0.0619"}, {"children_from": 2, "percent": "0.0516"},
                {"children_from": 3, "percent": "0.0413"}, {"children_from": 4, "percent": "0.0310"},
                {"children_from": 8, "percent": "0.0206"}]
PSU_2025 = {"from": "2025-01-01", "floor_cents": 80100, "ceiling_cents": 700000, "effort_rates": EFFORT_RATES}
PSU_SEPTEMBER_2025 = {"from": "2025-09-01", "floor_cents": 80100, "ceiling_cents": 850000, "effort_rates": EFFORT_RATES}

# Mila's contract: Monday, Tuesday, Thursday, Friday 8:30–16:30 (32 h a week), 45 weeks a year:
# 32 × 45 / 12 = 120 h a month.
MILA_CONTRACT = {"weekly_hours": {"1": ["08:30", "16:30"], "2": ["08:30", "16:30"], "4": ["08:30", "16:30"],
                                  "5": ["08:30", "16:30"]},
                 "weeks_per_year": 45, "start": "2025-11-01", "end": "2026-07-31", "leave_days": 15}


def one_page_pdf():
    from pypdf import PdfWriter
    writer, out = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=595, height=842)
    writer.write(out)
    return {"name": "certificat.pdf", "content_base64": base64.b64encode(out.getvalue()).decode("ascii")}


def eur(text):
    """'2,85 €', '0,0413 %', '8 h' with the non-breaking spaces the invoices print."""
    return re.sub(r"(\d) (€|%|h\b)", "\\1" + NBSP + "\\2", text)


class Month:
    """The suite, its RPC client, and the clock its services live by."""

    def __init__(self, folder):
        self.suite = start_suite(folder, EF_CLOCK=OCTOBER_20)
        self.rpc = RpcClient(self.suite.amqp_uri, timeout=30, caller="test")

    def call(self, service, method, *args):
        return self.rpc.call(service, method, *args)

    def live_on(self, instant, *services):
        """Start the services again with their clock at `instant` (their databases and queues stay)."""
        for name in services:
            self.suite.stop(name)
            self.suite.start_service(name, EF_CLOCK=instant)
        deadline = time.monotonic() + 30
        for name in services:
            while True:
                try:
                    if self.rpc.call(name, "health", timeout=2)["status"] == "ok":
                        break
                except Exception:
                    assert time.monotonic() < deadline, f"{name} did not come back"
                    time.sleep(0.2)
        self.suite.wait_ready(timeout=60)

    def close(self):
        self.rpc.close()
        stop_suite(self.suite)


def register(month, name, children):
    family = month.call("identity", "register_family", {
        "request_id": f"month-{name}-{uuid.uuid4().hex[:6]}",
        "representatives": [{"first_name": "Parent", "last_name": name}],
        "children": [{"first_name": first, "last_name": name, "birth_date": born} for first, born in children]})
    deadline = time.monotonic() + 30
    for service in ("canteen", "childcare", "billing"):
        while len(month.call(service, "family_children", family["id"])) < len(children):
            assert time.monotonic() < deadline, f"{service} did not learn the {name} family"
            time.sleep(0.1)
    return {"id": family["id"], **{c["first_name"]: c["id"] for c in family["children"]}}


def build_the_month(month):
    """Everything the families and the agents did, from 20 October to 3 December 2025."""
    call = month.call
    martin = register(month, "Martin", [("Léa", "2017-04-17"), ("Hugo", "2019-09-03")])
    bernard = register(month, "Bernard", [("Tom", "2016-11-30"), ("Louis", "2023-01-21")])
    durand = register(month, "Durand", [("Jade", "2018-06-08"), ("Noé", "2024-03-02")])
    roux = register(month, "Roux", [("Mila", "2025-06-15")])

    # --- 20 October: the canteen's schools, reservations and absences -------------------------------------------
    jules_verne = call("canteen", "add_school", f"École Jules Verne {uuid.uuid4().hex[:4]}", "public")["id"]
    simone_veil = call("canteen", "add_school", f"École Simone Veil {uuid.uuid4().hex[:4]}", "public")["id"]
    for child in (martin["Léa"], martin["Hugo"], bernard["Tom"]):
        call("canteen", "enrol", child, jules_verne, YEAR)
    call("canteen", "enrol", durand["Jade"], simone_veil, YEAR)
    call("canteen", "set_diet", martin["Hugo"], "standard", True)  # Hugo has a PAI: he brings a basket

    def reserve(family, child, *days):
        for day in days:
            call("canteen", "change_meal", family["id"], family[child], f"2025-11-{day:02d}", "reserve")
    reserve(martin, "Léa", 3, 4, 6, 7, 10, 13, 14, 17, 18, 20)
    reserve(martin, "Hugo", 3, 4, 24)
    reserve(bernard, "Tom", 3, 4, 6)
    reserve(durand, "Jade", 24, 25, 27, 28)
    # Léa's illness of the 6th and 7th is reported with a medical certificate before its first day: not billed.
    call("canteen", "report_absence", martin["id"], martin["Léa"], "2025-11-06", "2025-11-07", "illness", one_page_pdf())
    # Her absence of the 18th is for another reason: the reserved meal is billed.
    call("canteen", "report_absence", martin["id"], martin["Léa"], "2025-11-18", "2025-11-18", "other", None)

    # --- 20 October: the crèche -------------------------------------------------------------------------------
    call("childcare", "generate_slots")  # four weeks ahead: up to 17 November
    call("childcare", "register", bernard["Louis"], "occasional")
    call("childcare", "register", durand["Noé"], "occasional")
    call("childcare", "register", roux["Mila"], "regular", MILA_CONTRACT)
    slots = {(s["date"], s["start"]): s["id"] for s in call("childcare", "slots", "2025-11-03", "2025-11-17")}
    for day in ("2025-11-05", "2025-11-06"):  # two mornings of 4 h
        call("childcare", "book", bernard["id"], bernard["Louis"], slots[(day, "08:00")], None)
    late = call("childcare", "book", bernard["id"], bernard["Louis"], slots[("2025-11-13", "13:30")], None)
    call("childcare", "book", durand["id"], durand["Noé"], slots[("2025-11-07", "13:30")], None)  # 4 h 30
    call("childcare", "declare_leave", roux["id"], roux["Mila"], "2025-11-17", "2025-11-18")
    stay = call("childcare", "report_absence", roux["id"], roux["Mila"], "2025-11-20", "2025-11-20", "hospitalisation",
                one_page_pdf())
    call("childcare", "decide_justification", stay["id"], True, "Bulletin d'hospitalisation reçu.", AGENT)

    # --- 12 November: Louis's Thursday afternoon is cancelled 27 h 30 before it starts: billed -----------------
    month.live_on(NOVEMBER_12, "childcare")
    assert call("childcare", "cancel_booking", bernard["id"], late["id"])["billed"] is True

    # --- 3 December: who ate (the school's tablet), a walk-in at the crèche, and billing's data ------------------
    month.live_on(DECEMBER_3, "canteen", "childcare", "billing")
    kitchen = kitchen_headers(month)
    sheets = {7: [bernard["Tom"]], 20: [martin["Léa"], bernard["Tom"]], 21: [martin["Léa"]], 25: [martin["Hugo"]]}
    for day, eaten in sheets.items():
        answer = attendance(month, kitchen, jules_verne, f"2025-11-{day:02d}", eaten)
        assert answer.status_code == 200, answer.text
    call("childcare", "record_attendance", bernard["Louis"], "2025-11-24", "08:10", "11:55")  # 3 h 45 -> 4 h

    for regie, grids in (("affaires_scolaires", (CANTEEN_SEPTEMBER, CANTEEN_NOVEMBER_17)),
                         ("petite_enfance", (PSU_2025, PSU_SEPTEMBER_2025))):
        for grid in grids:
            call("billing", "add_tariff_grid", regie, grid, AGENT)
    resources = {martin["id"]: ("2025-01-01", 850, 238400, 2, False),
                 durand["id"]: ("2025-09-01", 350, 60000, 2, False),  # below the PSU floor
                 roux["id"]: ("2025-09-01", 1200, 300000, 2, True)}  # Mila has a disability
    for family_id, (start, quotient, monthly, children, disability) in resources.items():
        call("billing", "set_family_resources", family_id, {
            "from": start, "quotient": quotient, "monthly_resources_cents": monthly, "dependent_children": children,
            "disability": disability}, AGENT)
    # The Bernard family gave no resources: the highest bracket and the PSU ceiling.
    return {"martin": martin, "bernard": bernard, "durand": durand, "roux": roux, "kitchen": kitchen,
            "schools": (jules_verne, simone_veil)}


def kitchen_headers(month):
    client = month.call("identity", "create_api_client", "Tablette de l'école", ["kitchen"])
    token = requests.post(f"{month.suite.url}/api/v1/auth/token", timeout=10, json={
        "grant_type": "client_credentials", "client_id": client["client_id"],
        "client_secret": client["client_secret"]}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def attendance(month, headers, school_id, day, eaten):
    return requests.post(f"{month.suite.url}/api/v1/schools/{school_id}/attendance", json={"date": day, "eaten": eaten},
                         headers=headers, timeout=20)


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    running = Month(tmp_path_factory.mktemp("billing-month"))
    try:
        running.town = build_the_month(running)
        yield running
    finally:
        running.close()


def run_month(month, regie):
    return computed_run(month.rpc, month.call("billing", "start_invoicing_run", regie, MONTH, AGENT))


def lines_by_family(month, run):
    found = {}
    for summary in run["invoices"]:
        invoice = month.call("billing", "invoice", summary["id"])
        found[invoice["family_id"]] = invoice
    return found


def table(invoice):
    return [(line["label"], line["quantity"], line["unit_price_cents"], line["amount_cents"])
            for line in invoice["lines"]]


SEPTEMBER_GRID, NOVEMBER_GRID = "tarif du 01/09/2025", "tarif du 17/11/2025"


def test_the_canteen_month_line_by_line(month):
    town = month.town
    run = run_month(month, "affaires_scolaires")
    assert run["status"] == "draft" and len(run["invoices"]) == 3 and run["done"] == run["total"]
    invoices = lines_by_family(month, run)
    # The Roux family has no child at the canteen: nothing to bill, no invoice.
    assert set(invoices) == {town["martin"]["id"], town["bernard"]["id"], town["durand"]["id"]}

    # Martin, quotient 850 (bracket 3). Hugo's meals are basket meals (PAI); Léa was absent, justified on the 6th
    # and 7th (not billed), unjustified on the 18th (billed); she ate on the 21st without a reservation.
    martin = invoices[town["martin"]["id"]]
    assert table(martin) == [
        (eur(f"Hugo — 2 repas panier (PAI) × 1,20 € ({SEPTEMBER_GRID})"), "2", 120, 240),  # 3 and 4 Nov: 2 × 1,20
        (eur(f"Hugo — 1 repas panier (PAI) × 1,25 € ({NOVEMBER_GRID})"), "1", 125, 125),  # 24 Nov
        (eur(f"Hugo — 1 repas panier (PAI) non réservé × 1,25 € ({NOVEMBER_GRID})"), "1", 125, 125),  # 25 Nov
        (eur(f"Léa — 5 repas réservés × 2,85 € (tranche 3, {SEPTEMBER_GRID})"), "5", 285, 1425),  # 3, 4, 10, 13, 14
        (eur(f"Léa — 3 repas réservés × 2,95 € (tranche 3, {NOVEMBER_GRID})"), "3", 295, 885),  # 17, 18, 20
        (eur(f"Léa — 1 repas non réservé × 5,40 € ({NOVEMBER_GRID})"), "1", 540, 540),  # 21 Nov
        ("Léa — absence justifiée du 6 au 7 : non facturée", None, None, 0),
        ("Léa — absence non justifiée le 18 : repas réservé facturé", None, None, 0)]
    assert martin["total_cents"] == 240 + 125 + 125 + 1425 + 885 + 540 == 3340

    # Bernard gave no resources: bracket 5, and the invoice says so. Tom ate twice without a reservation, once
    # under each grid.
    bernard = invoices[town["bernard"]["id"]]
    assert table(bernard) == [
        (eur(f"Tom — 3 repas réservés × 4,15 € (tranche 5, {SEPTEMBER_GRID})"), "3", 415, 1245),
        (eur(f"Tom — 1 repas non réservé × 5,20 € ({SEPTEMBER_GRID})"), "1", 520, 520),  # 7 Nov
        (eur(f"Tom — 1 repas non réservé × 5,40 € ({NOVEMBER_GRID})"), "1", 540, 540),  # 20 Nov
        ("Ressources non communiquées : le tarif de la tranche la plus haute est appliqué.", None, None, 0)]
    assert bernard["total_cents"] == 1245 + 520 + 540 == 2305

    # Durand, quotient 350 (bracket 1), only under the new grid: no grid date on the line.
    durand = invoices[town["durand"]["id"]]
    assert table(durand) == [(eur("Jade — 4 repas réservés × 1,05 € (tranche 1)"), "4", 105, 420)]
    assert durand["total_cents"] == 420
    assert all(i["status"] == "draft" and i["number"] is None for i in invoices.values())


def test_the_creche_month_line_by_line(month):
    town = month.town
    run = run_month(month, "petite_enfance")
    assert run["status"] == "draft" and len(run["invoices"]) == 3 and run["done"] == run["total"]
    invoices = lines_by_family(month, run)
    assert set(invoices) == {town["bernard"]["id"], town["durand"]["id"], town["roux"]["id"]}

    # Roux: 3 000,00 € a month, two children, Mila has a disability: the next lower rate, 0,0413 % (not 0,0516 %):
    # 0,0413 % × 3 000,00 € = 1,239 € -> 1,24 €/h. The contract's month (120 h) less the closure of 11 November,
    # the leave of the 17th–18th and the hospitalisation of the 20th (8 h a day).
    roux = invoices[town["roux"]["id"]]
    rate = eur("1,24 €/h (0,0413 % × 3" + NNBSP + "000,00 €)")
    assert table(roux) == [
        (eur(f"Mila — contrat d'accueil régulier (mensualité) 120 h × {rate}"), "120", 124, 14880),  # 120 × 1,24
        (eur("Mila — déduction fermeture de la crèche le 11 : 8 h × 1,24 €/h"), "8", 124, -992),
        (eur("Mila — déduction congés du 17 au 18 : 16 h × 1,24 €/h"), "16", 124, -1984),
        (eur("Mila — déduction hospitalisation le 20 : 8 h × 1,24 €/h"), "8", 124, -992),
        ("Enfant en situation de handicap : le taux d'effort immédiatement inférieur est appliqué.", None, None, 0)]
    assert roux["total_cents"] == 14880 - 992 - 1984 - 992 == 10912

    # Bernard gave no resources: the ceiling of 1 September 2025 (8 500,00 €) at the one-child rate,
    # 0,0619 % × 8 500,00 € = 5,2615 € -> 5,26 €/h. Two mornings booked (8 h) and a walk-in of 3 h 45 billed by
    # the half-hour (4 h): 12 h; the afternoon cancelled 27 h 30 before: 4 h 30 billed.
    bernard = invoices[town["bernard"]["id"]]
    ceiling = eur("5,26 €/h (0,0619 % × 8" + NNBSP + "500,00 €)")
    assert table(bernard) == [
        (eur(f"Louis — accueil occasionnel 12 h × {ceiling}"), "12", 526, 6312),  # 12 × 5,26
        (eur("Louis — annulation tardive le 13 : 4,5 h × 5,26 €/h"), "4.5", 526, 2367),  # 23,67
        (eur("Ressources non communiquées : le plafond de ressources (8" + NNBSP + "500,00 €) est appliqué."),
         None, None, 0)]
    assert bernard["total_cents"] == 6312 + 2367 == 8679

    # Durand: 600,00 € a month, below the floor (801,00 €), two children: 0,0516 % × 801,00 € = 0,4133 € -> 0,41 €/h;
    # 4,5 h × 0,41 € = 1,845 € -> 1,85 € (rounded once, half up).
    durand = invoices[town["durand"]["id"]]
    assert table(durand) == [
        (eur("Noé — accueil occasionnel 4,5 h × 0,41 €/h (0,0516 % × 801,00 €)"), "4.5", 41, 185),
        (eur("Ressources inférieures au plancher : le plancher (801,00 €) est appliqué."), None, None, 0)]
    assert durand["total_cents"] == 185


def test_running_the_month_again_creates_nothing_twice(month):
    for regie in ("affaires_scolaires", "petite_enfance"):
        first = run_month(month, regie)
        again = run_month(month, regie)
        assert again["id"] == first["id"] and len(again["invoices"]) == 3
        assert sorted(i["id"] for i in again["invoices"]) == sorted(i["id"] for i in first["invoices"])


def test_finalised_paid_in_cash_paid_in_part_and_credited(month):
    town = month.town
    canteen = run_month(month, "affaires_scolaires")
    final = month.call("billing", "finalize_run", canteen["id"], AGENT)
    assert final["status"] == "final"
    numbers = sorted(i["number"] for i in final["invoices"])
    assert numbers == ["AS-2025-000001", "AS-2025-000002", "AS-2025-000003"]  # issued on 3 December 2025
    assert {(i["issued_on"], i["due_date"], i["status"]) for i in final["invoices"]} == {
        ("2025-12-03", "2026-01-02", "issued")}  # due 30 days later
    crèche = month.call("billing", "finalize_run", run_month(month, "petite_enfance")["id"], AGENT)
    assert sorted(i["number"] for i in crèche["invoices"]) == ["PE-2025-000001", "PE-2025-000002",
                                                             "PE-2025-000003"]
    by_family = {i["family_id"]: i for i in final["invoices"]}

    martin = by_family[town["martin"]["id"]]
    paid = month.call("billing", "record_payment", martin["id"], "cash", 3340, AGENT)
    assert (paid["invoice"]["status"], paid["invoice"]["balance_cents"]) == ("paid", 0)

    bernard = by_family[town["bernard"]["id"]]
    part = month.call("billing", "record_payment", bernard["id"], "cheque", 1000, AGENT)
    assert (part["invoice"]["status"], part["invoice"]["balance_cents"]) == ("partially_paid", 1305)  # 2305 − 1000
    with pytest.raises(RemoteError) as refused:
        month.call("billing", "record_payment", bernard["id"], "cash", 1306, AGENT)
    assert refused.value.code == "overpayment"

    durand = by_family[town["durand"]["id"]]
    credit = month.call("billing", "credit_note", durand["id"], 420, "Repas comptés à tort : sortie scolaire.", AGENT)
    assert credit["number"] == "AS-AV-2025-000001"
    assert (credit["invoice"]["status"], credit["invoice"]["balance_cents"]) == ("cancelled", 0)
    kept = month.call("billing", "invoice", durand["id"])
    assert kept["total_cents"] == 420 and [line["amount_cents"] for line in kept["lines"]] == [420]

    assert [i["status"] for i in month.call("billing", "family_invoices", town["martin"]["id"])["invoices"]] == ["paid"]
    # A month finalised is not billed again: starting it again bills only the families added since (none here).
    again = run_month(month, "affaires_scolaires")
    assert again["id"] != canteen["id"] and again["status"] == "draft" and again["invoices"] == []
    found = month.call("billing", "search_invoices", None, None, "affaires_scolaires", MONTH)
    assert sorted(i["number"] for i in found["invoices"]) == numbers


def test_the_tablet_is_refused_a_future_day_a_day_without_canteen_and_a_child_of_another_school(month):
    town = month.town
    jules_verne, simone_veil = town["schools"]
    lea, jade = town["martin"]["Léa"], town["durand"]["Jade"]
    for day, eaten, school, status, code in (
            ("2025-12-04", [lea], jules_verne, 400, "attendance_future"),  # tomorrow, for the canteen's clock
            ("2025-11-12", [lea], jules_verne, 409, "day_closed"),  # a Wednesday
            ("2025-11-11", [lea], jules_verne, 409, "day_closed"),  # Armistice
            ("2025-11-13", [jade], jules_verne, 400, "not_enrolled"),  # Jade eats at Simone Veil
            ("2025-11-13", [str(uuid.uuid4())], jules_verne, 400, "unknown_child"),
            ("2025-11-13", [lea], str(uuid.uuid4()), 404, "school_not_found")):
        answer = attendance(month, town["kitchen"], school, day, eaten)
        assert (answer.status_code, answer.json()["code"]) == (status, code), (day, answer.text)
        assert answer.json()["message"]
    assert attendance(month, town["kitchen"], simone_veil, "2025-11-13", []).status_code == 200
