"""A local Telegram Bot API emulator: aiogram's real client talks to it over HTTP.

Tests and the sandbox use it instead of Telegram (which is unreachable here). It enforces
Telegram's hard limits so a violation fails loudly instead of in production.

Bot side (HTTP, ``{base}/bot{token}/{method}``; point ``Settings.telegram_api_base`` at it):
    getMe, getUpdates (long polling, offset confirmation, allowed_updates, 409 on a second
    poller), setWebhook / deleteWebhook / getWebhookInfo, sendMessage, sendPhoto, sendDocument,
    sendLocation, sendChatAction, editMessageText, editMessageCaption, editMessageReplyMarkup,
    deleteMessage(s), answerCallbackQuery, answerInlineQuery, set/get/deleteMyCommands (per scope and language),
    set/getChatMenuButton, getChat, getFile (+ ``{base}/file/bot{token}/{path}``),
    set/getMyName/Description/ShortDescription. Unknown methods get 404 "Not Found", a wrong
    token 401 "Unauthorized". Bodies: JSON, form-urlencoded, multipart (file uploads).

Enforced like Telegram (400 "Bad Request: …" with Telegram's descriptions): text 1–4096
characters after entity parsing (captions ≤ 1024), HTML parse mode with Telegram's tags only and
proper nesting (``telegram_html.parse_html``), callback_data 1–64 bytes (BUTTON_DATA_INVALID),
chat not found for users who never started the bot, 403 when the user blocked the bot,
"message is not modified" for identical edits, "message to edit/delete not found", one answer
per callback query, and flood limits with 429 + retry_after when turned on.

In-process API (``TelegramEmulator``):
    emulator = TelegramEmulator(token)          # token defaults to DEFAULT_TOKEN
    base_url = await emulator.start()           # or emulator.add_routes(app, prefix="/tg")
    user = emulator.add_user(1001, first_name="Анна", language_code="ru")  # -> EmulatedUser
    update = user.send_text("/start")           # also send_location, send_sticker,
                                                # send_photo, send_document
    update, query = user.press(message_id, "callback-data")
    update, inline = user.inline_query("робототехника 10")   # inline mode (bot.emulator.inline)
    inline.answer.results, inline.answer.next_offset; posted = user.choose_inline_result(inline, id)
    await update.wait(10)                       # True once the bot confirmed it (getUpdates
                                                # offset or a 2xx webhook answer)
    emulator.push_update({...})                 # any raw Update (update_id optional)
    emulator.messages(chat_id)                  # ChatMessage snapshots, edits applied,
                                                # deletions gone (user's and bot's)
    user.bot_messages, user.history, user.reply_keyboard, user.commands(scope=None)
    emulator.unanswered_callbacks()             # CallbackQueryRecord list
    emulator.calls_since(seq), emulator.last_call_seq   # ApiCall log (status, description)
    emulator.rate_limit(per_chat_per_second=1, global_per_second=30); emulator.no_rate_limit()
    emulator.set_blocked(user_id)               # the user blocks the bot
    unsubscribe = emulator.subscribe(listener, chat_id=None)   # ChatEvent per change:
        # message, edit, delete, callback_answer, chat_action, commands, menu_button
    async for event in emulator.events(chat_id): ...           # the same, for SSE
    emulator.webhook.retry_delay = 0.05         # webhook retry pace (Telegram: growing)
    await emulator.close()

Modules: ``core`` (state, in-process API), ``methods`` (one function per Bot API method),
``server`` (HTTP), ``updates`` (queue, long polling), ``webhook`` (delivery), ``users`` (user
actions), ``telegram_html`` (parse mode), ``markup`` (keyboards), ``ratelimit``, ``model``.
"""

from bot.emulator.core import DEFAULT_TOKEN, ChatState, TelegramEmulator
from bot.emulator.errors import ApiError
from bot.emulator.inline import (  # also registers answerInlineQuery
    InlineAnswer,
    InlineQueryRecord,
    InlineResult,
    PostedInlineMessage,
)
from bot.emulator.markup import callback_data_valid
from bot.emulator.model import (
    ApiCall,
    Button,
    CallbackAnswer,
    CallbackQueryRecord,
    ChatEvent,
    ChatMessage,
    StoredFile,
    UserProfile,
)
from bot.emulator.telegram_html import Entity, HtmlParseError, ParsedText, parse_html
from bot.emulator.updates import PendingUpdate
from bot.emulator.users import TINY_PNG, EmulatedUser

__all__ = [
    "DEFAULT_TOKEN",
    "TINY_PNG",
    "ApiCall",
    "ApiError",
    "Button",
    "CallbackAnswer",
    "CallbackQueryRecord",
    "ChatEvent",
    "ChatMessage",
    "ChatState",
    "EmulatedUser",
    "Entity",
    "HtmlParseError",
    "InlineAnswer",
    "InlineQueryRecord",
    "InlineResult",
    "ParsedText",
    "PendingUpdate",
    "PostedInlineMessage",
    "StoredFile",
    "TelegramEmulator",
    "UserProfile",
    "callback_data_valid",
    "parse_html",
]
