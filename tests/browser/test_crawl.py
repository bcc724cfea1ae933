"""Issue 11: every page of the portal, crawled in a real browser for each kind of visitor, at 320 px and 1280 px.

A family (a pupil enrolled at the canteen with meals reserved and an absence, a toddler at the crèche with a
booking and an absence, last month's invoice issued) and one agent of each role are created by RPC in the session's
suite. Then, for the anonymous visitor, the parent and each agent role, the crawl starts from a few entry points and
follows every same-origin link (GET only: never the logout, nor a link that changes something; downloads — PDF,
CSV, ICS — are only fetched and must answer 200). On every page it checks:

- zero axe-core violation of the WCAG 2.1 A and AA rules;
- no horizontal scrolling at 320 px;
- every link answers 200;
- one banner, one main, one footer, one h1, and the same header, navigation and footer as the role's other pages;
- no ISO date, decimal point or computer hour in the text (the outbox page shows the mails sent);
- keyboard alone: every control reached by Tab in DOM order (no positive tabindex) and a visible focus indicator;
- and, for a sample of forms that are safe to send empty, the error is announced (role=alert) and each control
  marked aria-invalid points with aria-describedby to a text that explains it.

Pages of one shape (the same path with other ids or other query values) are visited twice at most: the crawl
covers every page, not every row of the database. Every problem is collected and reported at the end, with the
number of pages crawled per role and width; a role under its floor fails too, so that no page is skipped unseen.
"""
import json
import re
import time
import uuid
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit
from zoneinfo import ZoneInfo

import pytest

from espace_common.rpc_client import RemoteError, RpcClient
from espace_deploy.testing import computed_run

from .conftest import CHROMIUM_ARGS  # noqa: F401  (the session browser is launched with them)
from .pages import log_in

pytestmark = [pytest.mark.browser, pytest.mark.broker, pytest.mark.slow]

PASSWORD = "Parcours-Complet-Donges-44!"
AGENT_PASSWORD = "Agent-Parcours-Donges-8?"
AGENT_ROLES = ("affaires_scolaires", "petite_enfance", "admin")
ROLES = ("anonyme", "parent") + AGENT_ROLES
WIDTHS = {
    320: {"viewport": {"width": 320, "height": 640}, "is_mobile": True, "has_touch": True},
    1280: {"viewport": {"width": 1280, "height": 800}},
}
# Pages crawled per role and width, at least (on 2 December 2026: anonymous 15, parent 34, affaires_scolaires 41,
# petite_enfance 38, admin 56). A role under its floor lost pages: a link gone, a page refused. Raise them as pages come.
FLOORS = {"anonyme": 24, "parent": 38, "affaires_scolaires": 50, "petite_enfance": 42, "admin": 66}  # a little under the counts of the merged portal (26, 42, 56, 46, 73)
PER_SHAPE = 2  # pages of one shape visited (the other links of that shape are only fetched)
LINK_CHECKS_PER_SHAPE = 10
MAX_TAB_STOPS = 160
# Never followed: the logout, links that consume a token, the static files.
NEVER = re.compile(r"^/(deconnexion|confirmer-email/|mot-de-passe-oublie/[^e]|static/)")
DOWNLOAD = re.compile(r"(\.(pdf|csv|ics|json)|/justificatif|/fichier)$")  # files: fetched, not rendered (json: the family's export, #12)
# What people must never read on a page or in a mail (the outbox page shows them): an ISO date, a decimal point,
# an hour written as a computer does (Babel's French through espace_common.formatting writes them all).
MACHINE_TEXT = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d+\.\d+\b|\b\d{2}:\d{2}\b")
# Not prose: links and the paths the agents' journal shows, IP addresses (the security page), standards' versions.
NOT_PROSE = re.compile(r"https?://\S+|(?<!\S)/\S+|\b\d{1,3}(\.\d{1,3}){3}\b|\b(WCAG|RGAA|version) \d+\.\d+\b")
# Forms safe to send empty (they must refuse, change nothing, and say why): path of the page, by role.
EMPTY_FORMS = {
    "anonyme": ("/connexion", "/mot-de-passe-oublie", "/creer-mon-espace"),
    "parent": ("/mon-espace/identifiants", "/cantine/absences", "/cantine/reservations", "/petite-enfance/absences"),
    "affaires_scolaires": ("/agents/cantine/ecoles", "/agents/cantine/actualites"),
    "petite_enfance": ("/agents/petite-enfance/actualites",),
    "admin": ("/agents/familles/nouvelle",),
}
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}
CANTEEN_GRID = {"from": "2025-08-04", "unreserved_meal_price_cents": 410, "pai_meal_price_cents": 120,
                "brackets": [{"quotient_max": 700, "meal_price_cents": 190}, {"quotient_max": None, "meal_price_cents": 415}]}


def today():
    return datetime.now(ZoneInfo("Europe/Paris")).date()


def school_year_of(day):
    first = day.year if day.month >= 9 else day.year - 1
    return f"{first}-{first + 1}"


def one_page_pdf():
    import io

    from pypdf import PdfWriter
    writer, out = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=595, height=842)
    writer.write(out)
    return out.getvalue()


def refused_is_fine(call, *args):
    """Demo-like steps that a rule may refuse (a day too close, a slot taken): the crawl needs data, not them all."""
    try:
        return call(*args)
    except RemoteError as exc:
        if not exc.is_domain_error:
            raise
        return None


def wait_until_known(rpc, service, family):
    deadline = time.monotonic() + 60
    while len(rpc.call(service, "family_children", family["id"])) < len(family["children"]):
        assert time.monotonic() < deadline, f"{service} never learnt the family's children"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def demo(suite):
    """A family using both services and billing, and one agent of each role, made through the services' RPC."""
    rpc = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="crawl")
    call = lambda service, method, *args: rpc.call(service, method, *args)  # noqa: E731
    tag = uuid.uuid4().hex[:6]
    agents = {}
    for role in AGENT_ROLES:
        agents[role] = f"crawl-{role.replace('_', '-')}-{tag}"
        call("identity", "ensure_agent", agents[role], AGENT_PASSWORD, [role])
    toddler_birth = (today() - timedelta(days=420)).isoformat()
    family = call("identity", "register_family", {
        "request_id": f"crawl-{tag}",
        "representatives": [{"first_name": "Élodie", "last_name": f"Parcours{tag}", "phone": "0612345678",
                             "address": {"line1": "5 rue du Stade", "line2": "", "postal_code": "44480",
                                         "city": "Donges"}}],
        "children": [{"first_name": "Inès", "last_name": f"Parcours{tag}", "birth_date": "2018-05-12"},
                     {"first_name": "Hugo", "last_name": f"Parcours{tag}", "birth_date": toddler_birth}]})
    pupil, toddler = (c["id"] for c in family["children"])
    key = call("identity", "issue_key", family["representatives"][0]["id"])["key"]
    username = f"elodie.parcours{tag}"
    call("identity", "create_account", key, username, f"{username}@example.org", PASSWORD, "10.0.0.11")
    for service in ("canteen", "childcare", "billing"):
        wait_until_known(rpc, service, family)

    # The canteen: a school and a class, the pupil enrolled this year and last month's year, meals reserved in
    # the coming weeks, an absence with its certificate, two meals eaten last month (billed below).
    school = call("canteen", "add_school", f"École publique du Parcours {tag}", "public")
    last = today().replace(day=1) - timedelta(days=1)
    first = last.replace(day=1)
    while not [d for d in call("canteen", "school_days", first.isoformat(), last.isoformat()) if d["open"]]:
        last = first - timedelta(days=1)  # August has no school: the month before
        first = last.replace(day=1)
    for year in sorted({school_year_of(first), school_year_of(today())}):
        klass = call("canteen", "add_class", school["id"], year, "CE2")
        call("canteen", "enrol", pupil, school["id"], year, klass["id"])
    coming = [d["date"] for d in call("canteen", "school_days", (today() + timedelta(days=7)).isoformat(),
                                      (today() + timedelta(days=28)).isoformat()) if d["open"]]
    for day in coming[:4]:
        refused_is_fine(call, "canteen", "change_meal", family["id"], pupil, day, "reserve")
    if len(coming) > 5:
        refused_is_fine(call, "canteen", "report_absence", family["id"], pupil, coming[5], coming[5], "illness",
                        one_page_pdf())
    eaten = [d["date"] for d in call("canteen", "school_days", first.isoformat(), last.isoformat()) if d["open"]]
    for day in eaten[:2]:
        call("canteen", "record_attendance", school["id"], day, [pupil])

    # The crèche: occasional care with one booking next week, and an absence with its certificate.
    call("childcare", "register", toddler, "occasional")
    start = today() + timedelta(days=8)
    for slot in call("childcare", "slots", start.isoformat(), (start + timedelta(days=6)).isoformat()):
        if slot["available"] > 0 and not slot["closed"]:
            if refused_is_fine(call, "childcare", "book", family["id"], toddler, slot["id"], None):
                break
    refused_is_fine(call, "childcare", "report_absence", family["id"], toddler, start.isoformat(),
                    start.isoformat(), "illness", one_page_pdf())

    # Billing: the canteen grid (another test may have set the same one) and last month's invoice, issued.
    refused_is_fine(call, "billing", "add_tariff_grid", "affaires_scolaires", CANTEEN_GRID, "crawl")
    run = computed_run(rpc, call("billing", "start_invoicing_run", "affaires_scolaires", first.strftime("%Y-%m"),
                                 "crawl"))
    if run["status"] == "draft":
        call("billing", "finalize_run", run["id"], "crawl")
    invoices = call("billing", "family_invoices", family["id"])["invoices"]
    assert invoices, f"the family has no invoice after last month's run: {run}"
    rpc.close()
    return {"tag": tag, "agents": agents, "username": username, "family": family, "school": school,
            "day": coming[0] if coming else today().isoformat()}


def entry_points(role, demo):
    """Where the crawl starts; everything else is found by following links."""
    family_id = demo["family"]["id"]
    common = ["/", "/connexion"]
    if role == "anonyme":
        return common + ["/mot-de-passe-oublie", "/creer-mon-espace", "/cantine/menus", "/tarifs"]
    if role == "parent":
        return common + ["/tableau-de-bord", "/mon-espace/", "/cantine/", "/petite-enfance/", "/mon-compte/factures"]
    pages = ["/agents/", f"/agents/familles?q=Parcours{demo['tag']}", f"/agents/familles/{family_id}"]
    if role in ("affaires_scolaires", "admin"):
        pages += [f"/agents/cantine/inscriptions/{family_id}", f"/agents/facturation/familles/{family_id}",
                  f"/agents/cantine/presences?ecole={demo['school']['id']}&date={demo['day']}"]
    if role in ("petite_enfance", "admin"):
        pages += [f"/agents/petite-enfance/inscriptions?q=Parcours{demo['tag']}", "/agents/petite-enfance/justificatifs"]
    return pages


ID_SEGMENT = re.compile(r"^([0-9a-f]{8}-[0-9a-f-]{27}|[0-9a-f]{16,}|\d+|\d{4}-\d{2}(-\d{2})?|\d{4}-W\d{2}|[A-Za-z0-9_-]{24,})$")


def shape(path_and_query):
    """'/agents/familles/<id>?q' for '/agents/familles/3f2c…?q=Martin': pages of one shape are one template."""
    parts = urlsplit(path_and_query)
    path = "/".join("<id>" if ID_SEGMENT.match(segment) else segment for segment in parts.path.split("/"))
    keys = sorted({key for key, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return path + ("?" + "&".join(keys) if keys else "")


def local_target(base, href, here):
    """The same-origin path?query an href leads to, or None (another origin, tel:, mailto:, a fragment here)."""
    if not href or href.startswith(("tel:", "mailto:", "javascript:")):
        return None
    absolute = urljoin(here, href)
    parts = urlsplit(absolute)
    if f"{parts.scheme}://{parts.netloc}" != base:
        return None
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return parts.path + ("?" + query if query else "")


PAGE_FACTS = """() => {
  const words = element => element ? element.textContent.replace(/\\s+/g, ' ').trim() : null;
  const top = selector => [...document.querySelectorAll(selector)].filter(el => !el.closest('main, article, section, aside'));
  const header = top('header, [role=banner]');
  const footer = top('footer, [role=contentinfo]');
  const navs = [...document.querySelectorAll('nav, [role=navigation]')].filter(n => !n.closest('main'))
    .map(n => [n.getAttribute('aria-label'), [...n.querySelectorAll('a, button')].map(a => words(a) + ' ' + (a.getAttribute('href') || ''))]);
  return {
    banners: header.length, mains: document.querySelectorAll('main, [role=main]').length, footers: footer.length,
    h1: document.querySelectorAll('h1').length, title: document.title,
    header: words(header[0]), navigation: navs, footer: words(footer[0]),
    scroll: [document.scrollingElement.scrollWidth, window.innerWidth],
    links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
    forms: document.querySelectorAll('main form').length,
    text: document.title + ' | ' + document.body.innerText,
  };
}"""

# Tags the page's keyboard stops in DOM order (as Tab should visit them) and records what Tab really reaches.
TAB_SETUP = """whole => {
  const candidates = 'a[href], button, input, select, textarea, summary, [tabindex], [contenteditable=true]';
  const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const expected = [], positive = [], seenRadio = new Set();
  const main = document.querySelector('main');
  const root = whole || !main ? document : main;
  for (const el of root.querySelectorAll(candidates)) {
    if (el.matches(':disabled') || el.closest('[inert], [hidden]') || (el.type === 'hidden' && el.tagName === 'INPUT')) continue;
    if (el.getAttribute('tabindex') === '-1' || !shown(el)) continue;
    if (el.closest('details:not([open])') && el.tagName !== 'SUMMARY') continue;
    if (el.tabIndex > 0) positive.push(el.outerHTML.slice(0, 80));
    if (el.type === 'radio' && el.name) {
      const group = (el.form ? el.form.id || [...document.forms].indexOf(el.form) : '') + '|' + el.name;
      const checked = [...document.querySelectorAll(`input[type=radio][name="${CSS.escape(el.name)}"]`)]
        .filter(r => r.form === el.form && r.checked);
      if (seenRadio.has(group)) continue;
      if (checked.length && !checked.includes(el)) continue;
      seenRadio.add(group);
    }
    el.dataset.crawlStop = String(expected.length);
    const style = getComputedStyle(el);
    expected.push({label: (el.getAttribute('aria-label') || el.textContent || el.name || el.id || el.tagName).trim().slice(0, 50),
                   tag: el.tagName.toLowerCase(), outline: style.outlineStyle + ' ' + style.outlineWidth, shadow: style.boxShadow});
  }
  if (!whole) {  // the header and footer are walked once per role and width: here, up to the last form control
    let last = -1;
    document.querySelectorAll('[data-crawl-stop]').forEach(el => { if (el.closest('form')) last = Math.max(last, +el.dataset.crawlStop); });
    expected.splice(last + 1);
    document.querySelectorAll('[data-crawl-stop]').forEach(el => { if (+el.dataset.crawlStop > last) delete el.dataset.crawlStop; });
  }
  window.__crawlReached = [];
  document.addEventListener('focusin', event => {
    const el = event.target, style = getComputedStyle(el);
    window.__crawlReached.push({stop: el.dataset ? el.dataset.crawlStop : undefined,
      outline: style.outlineStyle + ' ' + style.outlineWidth, shadow: style.boxShadow,
      width: parseFloat(style.outlineWidth) || 0, style: style.outlineStyle});
  });
  if (document.activeElement) document.activeElement.blur();
  if (!whole && main) main.focus(); else window.scrollTo(0, 0);
  return {expected, positive};
}"""

EMPTY_THE_FORM = """form => {
  form.noValidate = true;
  for (const el of form.querySelectorAll('input, textarea, select')) {
    for (const rule of ['required', 'pattern', 'min', 'max', 'minlength']) el.removeAttribute(rule);
    if (['text', 'email', 'tel', 'password', 'number', 'date', 'search', 'url', 'month', 'week', 'time'].includes(el.type) || el.tagName === 'TEXTAREA') el.value = '';
  }
  const button = form.querySelector('button:not([type=button]), input[type=submit]');
  if (button) button.focus();
  return Boolean(button);
}"""

ERROR_FACTS = """() => {
  const alerts = [...document.querySelectorAll('main [role=alert]')].filter(a => a.textContent.trim());
  const focused = document.activeElement;
  const invalid = [...document.querySelectorAll('[aria-invalid=true]')].map(el => {
    const ids = (el.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean);
    const texts = ids.map(id => document.getElementById(id)).filter(Boolean).map(t => t.textContent.trim()).filter(Boolean);
    return {name: el.name || el.id || el.tagName, ids, texts};
  });
  return {alerts: alerts.map(a => a.textContent.trim().slice(0, 120)),
          focusedInAlert: alerts.some(a => a.contains(focused)), invalid};
}"""


class Crawl:
    """One role at one width: a page that goes from link to link, and the problems found."""

    def __init__(self, role, width, page, base, axe_script, problems, statuses):
        self.role, self.width, self.page, self.base = role, width, page, base
        self.axe_script, self.problems, self.statuses = axe_script, problems, statuses
        self.visited, self.shapes, self.layout = [], Counter(), None
        self.walked_whole = False
        self.link_checks = Counter()

    def problem(self, where, text):
        self.problems.append(f"[{self.role} {self.width}px] {where}: {text}")

    def status_of(self, target):
        """A link's status, fetched once per role with the role's cookies (no rendering)."""
        if target not in self.statuses:
            response = self.page.context.request.get(self.base + target, max_redirects=5, timeout=60_000)
            self.statuses[target] = response.status
        return self.statuses[target]

    def run(self, entries):
        queue, queued = list(entries), set(entries)
        # A link read in a mail of the local outbox is for that mail's recipient (the service's mailbox, another
        # parent): like an entry, it may rightly refuse this role with 403 or 404.
        entries = set(entries)
        while queue:
            target = queue.pop(0)
            if DOWNLOAD.search(urlsplit(target).path):
                if (status := self.status_of(target)) != 200:
                    self.problem(target, f"the download answers {status}")
                continue
            if self.shapes[shape(target)] >= PER_SHAPE:
                key = shape(target)
                if self.link_checks[key] < LINK_CHECKS_PER_SHAPE:
                    self.link_checks[key] += 1
                    status = self.status_of(target)
                    if status != 200 and not (target in entries and status in (403, 404)):
                        self.problem(target, f"the link answers {status}")
                continue
            links = self.visit(target, is_entry=target in entries)
            for href in links or ():
                found = local_target(self.base, href, self.base + target)
                if found and not NEVER.match(found) and found not in queued:
                    queued.add(found)
                    queue.append(found)
                    if urlsplit(target).path.startswith("/dev/courriels"):
                        entries.add(found)

    def visit(self, target, is_entry=False):
        response = self.page.goto(target, wait_until="load")
        status = response.status if response else 0
        landed = local_target(self.base, self.page.url, self.page.url)
        if status != 200:
            if not (is_entry and status in (403, 404)):
                self.problem(target, f"answers {status}")
            return None
        if landed != target and landed in {v for v in self.visited}:
            return None  # a redirect to a page already seen
        self.shapes[shape(target)] += 1
        self.visited.append(landed)
        self.statuses.setdefault(target, 200)
        facts = self.page.evaluate(PAGE_FACTS)
        self.check_layout(target, facts)
        self.check_axe(target)
        if not self.walked_whole:  # the first page: Tab through the header, the page and the footer
            self.check_keyboard(target, whole=True)
            self.walked_whole = True
        elif facts["forms"] and self.shapes[shape(target)] == 1:  # a page of a new shape with forms: its main
            self.check_keyboard(target, whole=False)
        return facts["links"]

    def check_layout(self, target, facts):
        scroll_width, inner = facts["scroll"]
        if self.width == 320 and scroll_width > inner:
            wide = self.page.evaluate("""() => [...document.querySelectorAll('main *')]
                .filter(el => el.getBoundingClientRect().right > window.innerWidth + 0.5)
                .slice(0, 3).map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' ' + el.textContent.trim().slice(0, 40))""")
            self.problem(target, f"scrolls horizontally ({scroll_width} px > {inner} px): {wide}")
        for key, count in (("banners", 1), ("mains", 1), ("footers", 1), ("h1", 1)):
            if facts[key] != count:
                self.problem(target, f"{facts[key]} {key} (one expected)")
        if self.width == 1280 and (machine := sorted(set(MACHINE_TEXT.findall(NOT_PROSE.sub(" ", facts["text"]))))):
            self.problem(target, f"text not written in French: {machine[:6]}")
        layout = {"header": facts["header"], "navigation": facts["navigation"], "footer": facts["footer"]}
        if self.layout is None:
            self.layout = (target, layout)
        else:
            first, reference = self.layout
            for part in layout:
                if layout[part] != reference[part]:
                    self.problem(target, f"its {part} differs from {first}'s: {layout[part]!r} / {reference[part]!r}")

    def check_axe(self, target):
        if not self.page.evaluate("() => typeof axe !== 'undefined'"):
            self.page.evaluate(self.axe_script)
        results = self.page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
        for violation in results["violations"]:
            nodes = "; ".join(" ".join(map(str, node["target"])) for node in violation["nodes"][:4])
            self.problem(target, f"axe {violation['id']} ({violation['impact']}): {violation['help']} -> {nodes}")

    def check_keyboard(self, target, whole):
        setup = self.page.evaluate(TAB_SETUP, whole)
        expected = setup["expected"]
        for element in setup["positive"]:
            self.problem(target, f"a positive tabindex breaks the DOM order: {element}")
        wanted = list(range(min(len(expected), MAX_TAB_STOPS)))
        # A date or time input takes one Tab per part (day, month, year): press until the last stop is reached.
        presses, reached = 0, []
        while wanted and presses < 3 * len(wanted) + 20:
            batch = max(5, len(wanted) - presses) if presses < len(wanted) else 10
            for _ in range(batch):
                self.page.keyboard.press("Tab")
            presses += batch
            reached = self.page.evaluate("() => window.__crawlReached")
            if any(r["stop"] == str(wanted[-1]) for r in reached):
                break
        self.page.evaluate("() => { if (document.activeElement) document.activeElement.blur(); }")
        order = []
        for r in reached:
            if r["stop"] is not None and (not order or order[-1] != int(r["stop"])):
                order.append(int(r["stop"]))
        cut = order.index(wanted[-1]) + 1 if wanted and wanted[-1] in order else len(order)
        if order[:cut] != wanted:
            missing = [expected[i]["label"] for i in wanted if i not in order][:5]
            wrong = next((k for k, (a, b) in enumerate(zip(order, wanted)) if a != b), None)
            self.problem(target, f"Tab does not reach the controls in DOM order (first difference at stop {wrong}: "
                                 f"{order[wrong:wrong + 3] if wrong is not None else order[-3:]} instead of "
                                 f"{wanted[wrong:wrong + 3] if wrong is not None else wanted[-3:]}); missed {missing}")
        for stop in reached:
            if stop["stop"] is None:
                continue
            before = expected[int(stop["stop"])]
            ring = stop["style"] != "none" and stop["width"] > 0
            if not ring and stop["shadow"] == before["shadow"]:
                self.problem(target, f"no visible focus on «{before['label']}» ({before['tag']})")

    def check_empty_form(self, path):
        response = self.page.goto(path)
        if not response or response.status != 200:
            self.problem(path, f"the form's page answers {response.status if response else 0}")
            return
        form = self.page.locator("main form[method=post i]").filter(
            has=self.page.locator("input:not([type=hidden]), textarea")).first
        if not form.count() or not form.evaluate(EMPTY_THE_FORM):
            self.problem(path, "no form to send empty")
            return
        with self.page.expect_navigation() as navigation:
            self.page.keyboard.press("Enter")
        answer = navigation.value
        if answer is None or not 400 <= answer.status < 500 and answer.status != 200:
            self.problem(path, f"the empty form answers {answer.status if answer else 0} (a French 4xx expected)")
        facts = self.page.evaluate(ERROR_FACTS)
        where = f"{path} (sent empty)"
        if not facts["alerts"]:
            self.problem(where, "no error announced in a role=alert region")
        for control in facts["invalid"]:
            if not control["texts"]:
                self.problem(where, f"the invalid control {control['name']} points to no error text "
                                    f"(aria-describedby={control['ids']})")
        self.check_axe(where)
        return facts


def test_every_page_of_every_role_at_320_and_1280_px(browser, suite, demo):
    from axe_playwright_python.sync_playwright import Axe

    axe_script = Axe().axe_script
    problems, counts, started = [], {}, time.monotonic()
    elsewhere = []

    def block(route):
        elsewhere.append(route.request.url)
        route.abort()

    for role in ROLES:
        statuses = {}  # a link answers the same at both widths: fetched once per role
        for width, options in WIDTHS.items():
            context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", base_url=suite.url,
                                          reduced_motion="reduce", **options)
            context.set_default_timeout(30_000)
            context.route(lambda url: not url.startswith(suite.url + "/"), block)
            context.add_init_script(axe_script)  # axe-core in every page, parsed by the browser as it loads
            page = context.new_page()
            try:
                if role == "parent":
                    log_in(page, demo["username"], PASSWORD)
                elif role in AGENT_ROLES:
                    log_in(page, demo["agents"][role], AGENT_PASSWORD)
                page.wait_for_load_state()
                if role != "anonyme" and "/connexion" in page.url:
                    problems.append(f"[{role} {width}px] could not log in")
                    continue
                crawl = Crawl(role, width, page, suite.url, axe_script, problems, statuses)
                crawl.run(entry_points(role, demo))
                for path in EMPTY_FORMS[role]:
                    crawl.check_empty_form(path)
                counts[(role, width)] = len(crawl.visited)
                print(f"\n{role} at {width} px: {len(crawl.visited)} pages crawled, "
                      f"{len(statuses)} links checked — " + ", ".join(sorted(crawl.visited)))
            finally:
                context.close()
    summary = ", ".join(f"{role} {width} px: {count}" for (role, width), count in counts.items())
    print(f"\nPages crawled per role and width ({time.monotonic() - started:.0f} s): {summary}")
    for (role, width), count in counts.items():
        if count < FLOORS[role]:
            problems.append(f"[{role} {width}px] only {count} pages crawled, under the floor of {FLOORS[role]}")
    for role in ROLES:
        for width in WIDTHS:
            if (role, width) not in counts:
                problems.append(f"[{role} {width}px] not crawled")
    if elsewhere:
        problems.append(f"assets asked outside the site: {sorted(set(elsewhere))[:5]}")
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)
