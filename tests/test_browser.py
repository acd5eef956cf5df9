"""The pages in a real browser (Debian's headless Chromium driven by Playwright) against the
running platform: each role logs in where its records live, does its page's main job, and
cannot use another's pages. The scorecard is saved as a screenshot in screenshots/."""
import re
import shutil
from pathlib import Path

import pytest
import requests

from shared import clock
from shared.localtime import COMMUNITY_ZONE
from tests.conftest import bearer
from tests.helpers import register_jurisdiction, running_platform, wait_until
from tests.test_pages import PASSWORD

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parent.parent / "screenshots"
pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="chromium is not installed")


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    from tests.conftest import Backend
    backend = Backend("embedded", tmp_path_factory.mktemp("browser"))
    with running_platform(backend, tmp_path_factory.mktemp("platform")) as running:
        backend.platform = running  # its processes' logs: the development SMS gateway's
        seed(backend)
        yield backend
    backend.drop()


def url(backend, service: str, path: str) -> str:
    return backend.env[f"{service.upper()}_URL"] + path


def seed(backend) -> None:
    """Reference data through the APIs, users through each service's own code."""
    def call(service, path, body, token):
        response = requests.post(url(backend, service, path), json=body,
                                 headers=bearer(token), timeout=10)
        assert response.status_code == 201, response.text

    call("intake", "/communities", {"id": "c1", "name": "T社区"}, backend.token("ops_admin"))
    call("intake", "/communities/c1/grids", {"id": "c1-g1", "name": "一网格"},
         backend.token("ops_admin"))
    register_jurisdiction(url(backend, "intake", ""), url(backend, "evaluation", ""),
                          bearer(backend.token("ops_admin")))
    call("evaluation", "/contracts", {
        "id": "k1", "agency_id": "a1", "community_ids": ["c1"], "period_start": "2026-01-01",
        "period_end": "2026-12-31", "budget": "300000",
        "targets": {"cases": 10, "sessions": 40, "service_hours": 80, "activities": 6}},
        backend.token("buyer_auditor", buyer_id="b1"))
    call("casework", "/workers", {"id": "w1", "name": "李社工"},
         backend.token("agency_admin", agency_id="a1"))
    from shared.web.users import save_user
    for service, user, role, scope in (
            ("intake", "clerk1", "intake_clerk", {"community_ids": ["c1"]}),
            ("casework", "w1", "social_worker", {"agency_id": "a1"}),
            ("evaluation", "buyer1", "buyer_auditor", {"buyer_id": "b1"})):
        app = backend.app(service)
        with app.app_context():
            config = app.extensions["pages"]
            save_user(config.db, config.users, user, user, PASSWORD, role, **scope)
            config.db.session.commit()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox"])
        yield chromium
        chromium.close()


def log_in(browser, backend, service, user, password=PASSWORD):
    page = browser.new_page(viewport={"width": 1024, "height": 768})  # a tablet
    page.set_default_timeout(10_000)
    page.goto(url(backend, service, "/ui/login"))
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    with page.expect_navigation():  # the login's answer, a page or the form again
        page.click("button[type=submit]")
    return page


def test_each_role_does_its_job_in_the_browser(platform, browser):
    from playwright.sync_api import expect
    clerk = log_in(browser, platform, "intake", "clerk1")
    clerk.click("text=登记居民")
    clerk.select_option("form[action$='/residents/new'] select[name=community_id]", "c1")
    clerk.fill("input[name=grid_id]", "c1-g1")
    clerk.fill("input[name=name]", "陈阿姨")
    clerk.select_option("select[name=gender]", "female")
    clerk.fill("input[name=birth_date]", "1948-05-01")
    clerk.click("button:text-is('登记')")
    ref = clerk.locator("[role=status]").inner_text().split("编号")[1].strip(" 。")
    clerk.click("text=登记需求")
    clerk.fill("input[name=resident_ref]", ref)
    clerk.select_option("select[name=community_id]", "c1")
    clerk.select_option("select[name=category]", "elderly_care")
    clerk.select_option("select[name=urgency]", "priority")
    clerk.select_option("select[name=channel]", "walk_in")
    clerk.fill("textarea[name=description]", "独居老人需要助餐")
    clerk.click("text=保存需求")
    expect(clerk.locator("h1")).to_contain_text("养老服务")
    expect(clerk.locator("table")).to_contain_text("已报告")
    clerk.goto(url(platform, "casework", "/ui/queue"))  # not logged in there
    expect(clerk).to_have_url(re.compile("/ui/login"))

    worker = log_in(browser, platform, "casework", "w1")
    open_case = worker.locator("button:text-is('开案')")
    def queued():
        worker.goto(url(platform, "casework", "/ui/queue"))
        return open_case.count()
    wait_until(queued, 60, "the need in the queue")
    open_case.first.click()
    worker.click("text=为此个案记录服务")
    worker.fill("input[name=topic]", "上门探访")
    worker.fill("input[name=start]", "09:00")
    worker.fill("input[name=end]", "10:00")
    worker.fill("input[name=location]", "居民家中")
    worker.fill("#name-search", "陈阿")
    worker.press("#name-search", "Enter")
    worker.locator("#matches button.add").first.click()  # the name came from intake
    expect(worker.locator("#signed")).to_contain_text("陈阿姨")
    worker.click("text=保存服务记录")
    expect(worker.locator("[role=status]")).to_contain_text("服务记录已保存")
    expect(worker.locator("table")).to_contain_text("上门探访")
    assert "陈阿姨" not in worker.content()  # casework got the reference only
    worker.goto(url(platform, "casework", "/ui/sessions"))  # a photo of it, from the phone
    worker.locator("tr", has_text="上门探访").locator("text=凭证文件").click()
    from tests.test_files import photo
    worker.set_input_files("input[type=file][capture]", files=[{
        "name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": photo()}])
    worker.click("button:text-is('上传')")
    expect(worker.locator("[role=status]")).to_contain_text("文件已上传")
    expect(worker.locator("#gallery img")).to_have_count(1)
    worker.goto(url(platform, "evaluation", "/ui/contracts"))  # not a buyer's page
    expect(worker).to_have_url(re.compile("/ui/login"))

    buyer = log_in(browser, platform, "evaluation", "buyer1")
    buyer.click("text=k1")
    expect(buyer.locator("svg.chart")).to_have_count(6)
    SHOTS.mkdir(exist_ok=True)
    buyer.screenshot(path=str(SHOTS / "scorecard.png"), full_page=True)
    buyer.click("text=English")
    expect(buyer.locator("main")).to_contain_text("Outputs against targets")
    buyer.locator("#indicators tbody a").first.click()  # an indicator's drill-down
    expect(buyer.locator("main")).to_contain_text("records")
    def thumbnail_shown():  # the photo's event reaches evaluation, its picture casework's
        buyer.goto(url(platform, "evaluation", "/ui/contracts/k1/evidence/sessions"))
        images = buyer.locator("td.gallery img")
        return images.count() and images.first.evaluate("i => i.complete && i.naturalWidth")
    wait_until(thumbnail_shown, 60, "the worker's photo in the buyer's drill-down")
    with buyer.expect_download() as download:
        buyer.click("text=Export CSV")
    assert "k1" in Path(download.value.path()).read_text(encoding="utf-8-sig")
    wrong_place = log_in(browser, platform, "casework", "buyer1")  # a buyer is not a worker
    expect(wrong_place.locator(".error")).to_contain_text("用户名或密码错误")


# -- a resident on a phone: sign in, report a need, vote, scan into a session ----------------

PHONE = "13912340001"


def texted_code(backend) -> str:
    """The code the development SMS gateway wrote to intake's log for PHONE."""
    pattern = re.compile(r"\*\*\*" + PHONE[-4:] + r": \D*?(\d{6})")

    def found():
        for log in backend.platform.log_dir.glob("intake*.log"):
            codes = pattern.findall(log.read_text(errors="replace"))
            if codes:
                return codes[-1]
    return wait_until(found, 20, "the texted code in intake's log")


def resident_world(backend) -> tuple[str, str, str]:
    """A resident with a phone, a micro-fund in its voting phase and a session running
    now, all through the APIs; (the resident's ref, the fund's id, the session's id)."""
    from datetime import timedelta
    clerk = bearer(backend.token("intake_clerk", community_ids=["c1"]))
    worker = bearer(backend.token("social_worker", agency_id="a1", sub="w1"))
    made = requests.post(url(backend, "intake", "/residents"), headers=clerk, timeout=10, json={
        "community_id": "c1", "grid_id": "c1-g1", "name": "王阿姨", "gender": "female",
        "birth_date": "1950-02-03", "phone": PHONE})
    assert made.status_code == 201, made.text
    ref = made.json()["ref"]

    def known():
        answer = requests.get(url(backend, "casework", "/residents"), headers=worker,
                              timeout=10)
        return any(r["ref"] == ref for r in answer.json())
    wait_until(known, 60, "casework to know the resident")

    def casework(path, body):
        answer = requests.post(url(backend, "casework", path), json=body, headers=worker,
                               timeout=10)
        assert answer.status_code in (200, 201), answer.text
        return answer.json()
    today = clock.today()
    days = {p: str(today - timedelta(days=n)) for p, n in (
        ("proposing", 4), ("review", 3), ("notice", 2), ("voting", 0), ("results", -1),
        ("delivery", -2))}
    fund = casework("/funds", {"community_id": "c1", "year": today.year, "amount": "3000.00",
                               "voting_rule": "approval", "notice_days": 2, "phases": days})
    project = casework(f"/funds/{fund['id']}/projects", {
        "title": "楼道扶手", "description": "为老人加装扶手", "category": "works",
        "location": "2号楼", "estimated_cost": "1000.00", "beneficiaries": 60,
        "proposer_kind": "agency", "proposed_on": days["proposing"]})
    casework(f"/funds/{fund['id']}/phase", {"phase": "review", "on": days["review"]})
    casework(f"/funds/{fund['id']}/projects/{project['id']}/review", {
        "feasible": True, "price": "950.00", "price_explanation": "询价", "on": days["review"]})
    casework(f"/funds/{fund['id']}/phase", {"phase": "notice", "on": days["notice"]})
    casework(f"/funds/{fund['id']}/phase", {"phase": "voting", "on": days["voting"]})
    now = clock.utcnow().astimezone(COMMUNITY_ZONE).replace(tzinfo=None)
    start = max(now - timedelta(hours=1), now.replace(hour=0, minute=0))
    end = min(now + timedelta(hours=1), now.replace(hour=23, minute=59))
    session = casework("/sessions", {
        "community_id": "c1", "method": "group_work", "topic": "健康讲座", "date": str(today),
        "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M"),
        "location": "社区活动室", "worker_ids": ["w1"], "attendee_refs": []})
    return ref, fund["id"], session["id"]


def test_a_resident_on_a_phone_signs_in_reports_votes_and_scans_in(platform, browser):
    from playwright.sync_api import expect
    ref, fund_id, session_id = resident_world(platform)
    phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                             is_mobile=True, has_touch=True)
    phone.set_default_timeout(10_000)
    phone.goto(url(platform, "intake", "/r/"))
    expect(phone.locator("h1")).to_have_text("登录")
    phone.fill("input[name=phone]", PHONE)
    phone.click("button:text-is('给我发验证码')")
    expect(phone.locator("[role=note]")).to_contain_text("开发系统")  # the page says so
    phone.fill("input[name=code]", texted_code(platform))
    phone.click("button:text-is('登录')")
    expect(phone.locator("ul.tasks")).to_contain_text("我要求助")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the home page is {width} px wide on a 390 px screen"
    SHOTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(SHOTS / "resident-home.png"), full_page=True)

    phone.click("text=我要求助：反映需求")
    phone.check("input[name=category][value=elderly_care]")
    phone.fill("textarea[name=description]", "楼道灯坏了，晚上出门不便")
    phone.click("button:text-is('提交')")
    expect(phone.locator("[role=status]")).to_contain_text("社区已收到")
    expect(phone.locator("ul.items")).to_contain_text("养老服务")

    phone.goto(url(platform, "intake", "/r/funds"))
    phone.locator("ul.tasks a").first.click()
    phone.check("input[name=project_ids]")
    phone.click("button:text-is('投票')")
    expect(phone.locator("[role=status]")).to_contain_text("您的投票已记录")
    phone.screenshot(path=str(SHOTS / "resident-voted.png"), full_page=True)
    ballots = requests.get(url(platform, "casework", f"/funds/{fund_id}/ballots"), timeout=10,
                           headers=bearer(platform.token("social_worker", agency_id="a1",
                                                         sub="w1"))).json()
    assert [(b["resident_ref"], b["channel"]) for b in ballots] == [(ref, "online")]

    worker = log_in(browser, platform, "casework", "w1")
    worker.goto(url(platform, "casework", f"/ui/records/session/{session_id}/sign-in"))
    expect(worker.locator("#qr svg")).to_have_count(1)
    link = worker.locator("#sign-in-code").get_attribute("data-url")  # what the QR holds
    phone.goto(link)
    phone.click("button:text-is('我已到场')")
    expect(phone.locator("[role=status]")).to_contain_text("签到成功")
    phone.screenshot(path=str(SHOTS / "resident-signed-in.png"), full_page=True)
    worker.reload()
    expect(worker.locator("#signed-in")).to_contain_text(ref)
