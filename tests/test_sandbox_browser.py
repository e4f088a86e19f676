"""The sandbox in a real browser: Debian's headless Chromium driven by selenium.

The sandbox runs as the README runs it (``python -m bot run`` with no token: migrations, demo
data, its own SQLite file, a free loopback port); the test waits for its start-up line, then uses the web chat as a
person would. A screenshot is kept in artifacts/ for a human to look at.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
START_TIMEOUT = 90.0  # migrations and the demo region on a slow CI box
WAIT = 30.0  # generous: CI boxes are 2 shared cores

_missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
pytestmark = [
    pytest.mark.browser,
    # The sandbox keeps its own SQLite file, so the PostgreSQL leg would only repeat this.
    pytest.mark.skipif(
        bool(os.environ.get("TEST_DATABASE_URL")),
        reason="browser test runs once, in the SQLite leg (the sandbox uses its own SQLite file)",
    ),
    pytest.mark.skipif(
        bool(_missing),
        reason=(
            f"browser test skipped: {', '.join(_missing)} not installed "
            "(apt-get install chromium chromium-driver; .ci/run does this)"
        ),
    ),
]

if not _missing:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.remote.webelement import WebElement
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.test_sandbox import demo_router

_URL_LINE = re.compile(r"Sandbox \(loopback only\): (http://127\.0\.0\.1:\d+/)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    """The README's ``python -m bot run`` without BOT_TOKEN, in a subprocess; yields the URL
    it announces. It runs in an empty folder, so no developer's .env can give it a token."""
    workdir = Path(tempfile.mkdtemp(prefix="sandbox-browser-"))
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("BOT_TOKEN", "WEBHOOK_URL", "ADMIN_IDS", "TELEGRAM_API_BASE")
    }
    env |= {
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'sandbox.sqlite3'}",
        "SANDBOX_PORT": str(_free_port()),
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    found = threading.Event()
    output: list[str] = []
    url: list[str] = []

    def read() -> None:  # also keeps the pipe drained for the whole run
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if not found.is_set() and (match := _URL_LINE.search(line)):
                url.append(match.group(1))
                found.set()
        found.set()  # the process ended: stop waiting at once

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not found.wait(START_TIMEOUT) or not url:
            pytest.fail("the sandbox did not start:\n" + "".join(output[-40:]))
        yield url[0]
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        reader.join(5)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    profile = tempfile.mkdtemp(prefix="sandbox-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=800,1000",
        "--lang=ru-RU",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "SEVERE"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class ScriptedBotChat:
    """The web chat over the tiny scripted bot of test_sandbox.py, in a thread of its own.

    The real bot never deletes a message or answers with a toast on the happy path; this one
    does all of it on command, so the page's drawing of each is seen in a real browser.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._stack: Any = None

    def start(self) -> str:
        self.thread.start()
        return asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(30)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stack.aclose(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    async def _start(self) -> str:
        from contextlib import AsyncExitStack

        from aiogram import Bot, Dispatcher
        from aiogram.client.default import DefaultBotProperties
        from aiogram.client.session.aiohttp import AiohttpSession
        from aiogram.client.telegram import TelegramAPIServer
        from aiohttp import web

        from bot.emulator import TelegramEmulator
        from bot.sandbox.personas import DEFAULT_PERSONAS
        from bot.sandbox.web import BOT_API_PREFIX, SandboxWeb

        self._stack = stack = AsyncExitStack()
        emulator = TelegramEmulator()
        chat = SandboxWeb(emulator, DEFAULT_PERSONAS)
        runner = web.AppRunner(chat.application(), shutdown_timeout=1.0)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        stack.push_async_callback(emulator.close)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        bot = Bot(
            emulator.token,
            session=AiohttpSession(api=TelegramAPIServer.from_base(base + BOT_API_PREFIX)),
            default=DefaultBotProperties(parse_mode="HTML"),
        )
        dispatcher = Dispatcher()
        dispatcher.include_router(demo_router())
        polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False))

        async def stop_polling() -> None:
            await emulator.close()
            await dispatcher.stop_polling()
            await asyncio.gather(polling, return_exceptions=True)

        stack.push_async_callback(stop_polling)
        return base + "/"


@pytest.fixture(scope="module")
def scripted_url() -> Iterator[str]:
    chat = ScriptedBotChat()
    url = chat.start()
    try:
        yield url
    finally:
        chat.stop()


# --- helpers: what a person sees and does ---------------------------------------------------


def wait_for(driver: Any, condition: Callable[[], Any], what: str) -> Any:
    """Polls ``condition`` until it returns something truthy (selenium's explicit wait)."""

    def check(_: Any) -> Any:
        try:
            return condition()
        except StaleElementReferenceException:  # re-rendered meanwhile: look again
            return None

    return WebDriverWait(driver, WAIT, poll_frequency=0.1).until(check, message=what)


def bot_messages(driver: Any) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, "#messages .message.in")


def last_bot_text(driver: Any) -> str:
    messages = bot_messages(driver)
    return messages[-1].text if messages else ""


def last_user_text(driver: Any) -> str:
    messages = driver.find_elements(By.CSS_SELECTOR, "#messages .message.out")
    return messages[-1].text if messages else ""


def wait_bot_text(driver: Any, fragment: str) -> WebElement:
    """The newest bot message once it contains ``fragment`` (a new or an edited one)."""

    def found() -> WebElement | None:
        messages = bot_messages(driver)
        if messages and fragment in messages[-1].text:
            return messages[-1]
        return None

    try:
        return wait_for(driver, found, f"a bot message with {fragment!r}")
    except TimeoutException:
        raise AssertionError(
            f"no bot message with {fragment!r}; the last one: {last_bot_text(driver)!r}"
        ) from None


def inline_buttons(message: WebElement) -> list[WebElement]:
    return message.find_elements(By.CSS_SELECTOR, ".inline-button")


def press(driver: Any, message: WebElement, text_fragment: str) -> None:
    button = next((b for b in inline_buttons(message) if text_fragment in b.text), None)
    assert button is not None, (
        f"no button {text_fragment!r}: {[b.text for b in inline_buttons(message)]}"
    )
    button.click()


def send(driver: Any, text: str) -> None:
    field = driver.find_element(By.ID, "message-input")
    field.send_keys(text, Keys.ENTER)


def choose_persona(driver: Any, key: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f'.persona[data-persona="{key}"]').click()
    wait_for(
        driver,
        lambda: (
            driver.find_element(By.CSS_SELECTOR, f'.persona[data-persona="{key}"]').get_attribute(
                "aria-selected"
            )
            == "true"
        ),
        f"persona {key} selected",
    )


def assert_no_script_errors(driver: Any) -> None:
    errors = [entry["message"] for entry in driver.get_log("browser")]
    assert not errors, errors


def screenshot(driver: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    return path


# --- the walk ---------------------------------------------------------------------------------


def test_parent_walks_from_start_to_a_program_card(sandbox_url: str, browser: Any) -> None:
    driver = browser
    driver.get(sandbox_url + "#anna")
    wait_for(driver, lambda: driver.find_elements(By.CSS_SELECTOR, ".persona"), "personas")
    assert driver.find_element(By.ID, "empty-hint").is_displayed()

    # The commands menu is the bot's own, published through setMyCommands.
    wait_for(driver, lambda: driver.find_element(By.ID, "menu-button").is_displayed(), "menu")
    driver.find_element(By.ID, "menu-button").click()
    commands = [
        node.text for node in driver.find_elements(By.CSS_SELECTOR, "#commands-list .command-name")
    ]
    assert "/start" in commands and "/catalog" in commands
    driver.find_element(By.CSS_SELECTOR, '#commands-list button[data-command="start"]').click()

    consent = wait_bot_text(driver, "Согласие на обработку персональных данных")
    assert consent.find_element(By.CSS_SELECTOR, ".text b").text.startswith("Согласие")
    assert last_user_text(driver).startswith("/start")
    consent_id = consent.get_attribute("data-id")
    press(driver, consent, "Согласен")

    # The same message is edited in place, screen after screen.
    municipalities = wait_bot_text(driver, "Выберите ваш муниципалитет")
    assert municipalities.get_attribute("data-id") == consent_id
    press(driver, municipalities, "город Кемерово")
    menu = wait_bot_text(driver, "Главное меню")
    assert "Муниципалитет: город Кемерово" in menu.text
    press(driver, menu, "Каталог")

    directions = wait_bot_text(driver, "Выберите направление")
    press(driver, directions, "Техническая")
    wait_bot_text(driver, "Для какого возраста")
    send(driver, "9")
    programs = wait_bot_text(driver, "Возраст: 9")
    first = next(b for b in inline_buttons(programs) if b.text.startswith("1. "))
    title = first.text.removeprefix("1. ")
    first.click()

    card = wait_bot_text(driver, "Стоимость")
    assert card.find_element(By.CSS_SELECTOR, ".text").text.startswith(title)
    assert "Возраст:" in card.text
    assert any("Записаться" in b.text for b in inline_buttons(card))
    assert any("К списку" in b.text for b in inline_buttons(card))
    # Bubbles sit in a phone-sized column, the keyboard right under its message.
    column = driver.find_element(By.ID, "phone").size["width"]
    assert 320 <= column <= 450
    # The card from its title, for whoever looks at the screenshot.
    driver.execute_script(
        "arguments[0].scrollIntoView(); arguments[0].parentNode.scrollTop -= 8", card
    )
    screenshot(driver, "sandbox.png")
    assert_no_script_errors(driver)


def test_location_is_shared_through_the_reply_keyboard(sandbox_url: str, browser: Any) -> None:
    driver = browser
    driver.get(sandbox_url + "#admin")
    wait_for(driver, lambda: driver.find_elements(By.CSS_SELECTOR, ".persona"), "personas")
    # Works for someone who never went through /start: nothing here needs consent.
    send(driver, "/near")
    wait_bot_text(driver, "Отправьте своё местоположение")
    keyboard = driver.find_element(By.ID, "reply-keyboard")
    wait_for(driver, keyboard.is_displayed, "the reply keyboard")
    buttons = keyboard.find_elements(By.CSS_SELECTOR, ".reply-button")
    assert [b.text for b in buttons] == ["📍 Отправить местоположение", "✖️ Отмена"]
    buttons[0].click()

    dialog = driver.find_element(By.ID, "location-dialog")
    wait_for(driver, dialog.is_displayed, "the location form")
    preset = driver.find_element(By.ID, "location-preset")
    preset.find_element(By.XPATH, "./option[text()='город Кемерово']").click()
    assert driver.find_element(By.ID, "location-lat").get_attribute("value").startswith("55.")
    driver.find_element(By.ID, "location-send").click()

    wait_for(
        driver,
        lambda: driver.find_elements(By.CSS_SELECTOR, "#messages .message.out .location-card"),
        "the shared location in the chat",
    )
    nearby = wait_bot_text(driver, "Рядом с вами")
    assert "км" in nearby.text
    wait_for(driver, lambda: not keyboard.is_displayed(), "the keyboard removed by the bot")
    screenshot(driver, "sandbox-location.png")
    assert_no_script_errors(driver)


def test_each_persona_has_its_own_chat(sandbox_url: str, browser: Any) -> None:
    driver = browser
    driver.get(sandbox_url + "#anna")
    wait_for(driver, lambda: driver.find_elements(By.CSS_SELECTOR, ".persona"), "personas")
    replies = len(bot_messages(driver))
    send(driver, "/menu")
    wait_for(driver, lambda: len(bot_messages(driver)) > replies, "Anna's reply to /menu")
    anna_count = len(driver.find_elements(By.CSS_SELECTOR, "#messages .message"))

    choose_persona(driver, "igor")
    wait_for(
        driver,
        lambda: not driver.find_elements(By.CSS_SELECTOR, "#messages .message"),
        "Igor's chat starts empty",
    )
    assert driver.find_element(By.ID, "empty-hint").is_displayed()
    send(driver, "/start")
    wait_bot_text(driver, "Согласие на обработку персональных данных")
    assert "Игорь" in driver.find_element(By.ID, "persona-badge").text

    choose_persona(driver, "anna")
    wait_for(
        driver,
        lambda: len(driver.find_elements(By.CSS_SELECTOR, "#messages .message")) == anna_count,
        "Anna's chat is back as she left it",
    )
    assert "Игорь" not in driver.find_element(By.ID, "messages").text

    # The МОЦ persona is staff of the demo region's centre, with the staff commands menu.
    choose_persona(driver, "staff")
    picker = driver.find_element(By.ID, "staff-municipality")
    assert picker.get_attribute("value") == "город Кемерово"
    wait_for(driver, lambda: driver.find_element(By.ID, "menu-button").is_displayed(), "menu")
    driver.find_element(By.ID, "menu-button").click()
    commands = [
        node.text for node in driver.find_elements(By.CSS_SELECTOR, "#commands-list .command-name")
    ]
    assert "/queue" in commands
    screenshot(driver, "sandbox-personas.png")

    # The page's own words switch language; the bot's stay the bot's.
    field = driver.find_element(By.ID, "message-input")
    assert field.get_attribute("placeholder") == "Сообщение"
    driver.find_element(By.ID, "lang-toggle").click()
    assert field.get_attribute("placeholder") == "Message"
    driver.find_element(By.ID, "lang-toggle").click()
    assert field.get_attribute("placeholder") == "Сообщение"
    assert_no_script_errors(driver)


def test_toasts_alerts_edits_deletions_and_files_are_drawn(scripted_url: str, browser: Any) -> None:
    driver = browser
    driver.get(scripted_url + "#anna")
    wait_for(driver, lambda: driver.find_elements(By.CSS_SELECTOR, ".persona"), "personas")
    send(driver, "/start")
    message = wait_bot_text(driver, "Привет")
    text = message.find_element(By.CSS_SELECTOR, ".text")
    assert text.find_element(By.TAG_NAME, "b").text == "Привет"
    # The bot's escaped markup is shown as text, never run.
    assert "<script>alert(1)</script>" in text.text
    assert not text.find_elements(By.TAG_NAME, "script")
    link = text.find_element(By.TAG_NAME, "a")
    assert link.get_attribute("href") == "https://example.org/" and link.text == "ссылка"
    message_id = message.get_attribute("data-id")

    press(driver, message, "Тост")
    toast = driver.find_element(By.ID, "toast")
    wait_for(driver, lambda: toast.is_displayed() and toast.text == "Готово", "the toast")

    press(driver, message, "Окно")
    dialog = driver.find_element(By.ID, "alert-dialog")
    wait_for(driver, dialog.is_displayed, "the alert")
    assert driver.find_element(By.ID, "alert-text").text == "Внимание!"
    dialog.find_element(By.TAG_NAME, "button").click()
    wait_for(driver, lambda: not dialog.is_displayed(), "the alert closed")

    press(driver, message, "Изменить")
    edited = wait_bot_text(driver, "Изменено")
    assert edited.get_attribute("data-id") == message_id  # the same bubble, changed in place
    assert edited.find_element(By.CSS_SELECTOR, ".text i").text == "Изменено"
    assert "изменено" in edited.find_element(By.CSS_SELECTOR, ".meta").text
    assert not inline_buttons(edited)

    send(driver, "/start")
    doomed = wait_bot_text(driver, "Привет")
    doomed_id = doomed.get_attribute("data-id")
    assert doomed_id != message_id
    press(driver, doomed, "Удалить")
    wait_for(
        driver,
        lambda: not driver.find_elements(By.CSS_SELECTOR, f'.message[data-id="{doomed_id}"]'),
        "the deleted message gone",
    )

    send(driver, "/files")
    wait_bot_text(driver, "report.pdf")  # the last of the three
    names = [
        link.get_attribute("download")
        for link in driver.find_elements(By.CSS_SELECTOR, ".message.in a.document")
    ]
    assert names == ["page.html", "report.pdf"]
    photo = driver.find_element(By.CSS_SELECTOR, ".message.in img.photo")
    wait_for(
        driver,
        lambda: driver.execute_script("return arguments[0].naturalWidth", photo) == 1,
        "the photo loaded",
    )

    send(driver, "/where")
    keyboard = driver.find_element(By.ID, "reply-keyboard")
    wait_for(driver, keyboard.is_displayed, "the reply keyboard")
    assert driver.find_element(By.ID, "message-input").get_attribute("placeholder") == (
        "Нажмите кнопку"
    )
    cancel = keyboard.find_elements(By.CSS_SELECTOR, ".reply-button")[1]
    cancel.click()  # a plain button sends its text; a one-time keyboard folds away
    wait_for(driver, lambda: not keyboard.is_displayed(), "the one-time keyboard folded")
    wait_for(driver, lambda: last_user_text(driver).startswith("Отмена"), "the button's text sent")
    screenshot(driver, "sandbox-scripted.png")
    assert_no_script_errors(driver)
