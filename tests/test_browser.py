"""The pages in a real browser (Debian's headless Chromium driven by Playwright) against the
running platform: each role logs in where its records live, does its page's main job, and
cannot use another's pages. The scorecard is saved as a screenshot in screenshots/."""
import re
import shutil
from pathlib import Path

import pytest
import requests

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
    with running_platform(backend, tmp_path_factory.mktemp("platform")):
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
