// The sandbox web chat: one Telegram-like chat per persona, live over server-sent events.
// Plain DOM code, no framework. The only HTML taken from the server is a message's "html",
// which the server has reduced to Telegram's own tags (bot/sandbox/markup.py); everything
// else is set as text.
"use strict";

const UI_TEXT = {
  ru: {
    bot: "бот",
    emptyHint: "Отправьте /start, чтобы начать разговор с ботом.",
    commands: "Команды",
    menu: "Меню",
    placeholder: "Сообщение",
    shareLocation: "Геопозиция",
    keyboard: "Клавиатура",
    send: "Отправить",
    sandboxNote: "Песочница: бот работает локально, без Telegram.",
    preset: "Центр муниципалитета",
    latitude: "Широта",
    longitude: "Долгота",
    cancel: "Отмена",
    share: "Отправить",
    edited: "изменено",
    choosePreset: "— выберите —",
    download: "Скачать",
    location: "Геопозиция",
    unsupported: "В песочнице эта кнопка не работает",
    offline: "Нет связи с песочницей…",
    failed: "Не удалось отправить",
    badCoords: "Широта от −90 до 90, долгота от −180 до 180",
    typing: "печатает…",
    staffMunicipality: "Муниципалитет сотрудника МОЦ",
    roles: { parent: "родитель", staff: "МОЦ", admin: "администратор" },
  },
  en: {
    bot: "bot",
    emptyHint: "Send /start to begin talking to the bot.",
    commands: "Commands",
    menu: "Menu",
    placeholder: "Message",
    shareLocation: "Location",
    keyboard: "Keyboard",
    send: "Send",
    sandboxNote: "Sandbox: the bot runs locally, without Telegram.",
    preset: "Municipality centre",
    latitude: "Latitude",
    longitude: "Longitude",
    cancel: "Cancel",
    share: "Send",
    edited: "edited",
    choosePreset: "— choose —",
    download: "Download",
    location: "Location",
    unsupported: "This button does not work in the sandbox",
    offline: "Lost connection to the sandbox…",
    failed: "Could not send",
    badCoords: "Latitude −90…90, longitude −180…180",
    typing: "typing…",
    staffMunicipality: "The support centre's municipality",
    roles: { parent: "parent", staff: "support centre", admin: "administrator" },
  },
};

const AVATAR_COLOURS = ["#e17076", "#7bc862", "#65aadd", "#a695e7", "#ee7aae", "#6ec9cb", "#faa774"];

const app = {
  lang: "ru",
  personas: [],
  current: null, // persona key
  messages: new Map(), // message id → message JSON of the current chat
  commands: [],
  replyKeyboard: null,
  keyboardOpen: false,
  unread: new Map(), // persona key → count of bot messages not seen
  loading: false,
  pending: [], // events of the current chat that arrived while its state was loading
  loadToken: 0,
};

// The demo municipalities' centres: the location form's presets and the МОЦ persona's picker.
let presets = [];

const $ = (id) => document.getElementById(id);

function t(key) {
  return UI_TEXT[app.lang][key] ?? UI_TEXT.ru[key] ?? key;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

// --- language of the page itself ---------------------------------------------------------

function applyLanguage() {
  document.documentElement.lang = app.lang;
  document.querySelectorAll("[data-i18n]").forEach((node) => {
    node.textContent = t(node.dataset.i18n);
  });
  document.querySelectorAll("[data-i18n-title]").forEach((node) => {
    node.title = t(node.dataset.i18nTitle);
  });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((node) => {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  });
  $("lang-toggle").textContent = app.lang === "ru" ? "English" : "Русский";
  renderPersonas();
  renderPlaceholder();
  fillPresets();
  for (const message of app.messages.values()) renderMessage(message);
}

// --- personas ---------------------------------------------------------------------------

function avatar(name, index) {
  const node = el("span", "avatar", (name || "?").trim().charAt(0).toUpperCase());
  node.style.background = AVATAR_COLOURS[index % AVATAR_COLOURS.length];
  return node;
}

function roleTitle(persona) {
  const role = UI_TEXT[app.lang].roles[persona.role] || persona.role;
  return persona.municipality ? `${role} · ${persona.municipality}` : role;
}

function renderPersonas() {
  const bar = $("personas");
  bar.replaceChildren();
  app.personas.forEach((persona, index) => {
    const button = el("button", "persona");
    button.type = "button";
    button.setAttribute("role", "tab");
    button.dataset.persona = persona.key;
    button.setAttribute("aria-selected", String(persona.key === app.current));
    button.title = `${persona.label} — ${roleTitle(persona)} (id ${persona.telegram_id})`;
    button.append(avatar(persona.first_name, index), el("span", "persona-name", persona.label));
    const unread = app.unread.get(persona.key) || 0;
    if (unread > 0 && persona.key !== app.current) {
      button.append(el("span", "unread", String(unread)));
    }
    button.addEventListener("click", () => selectPersona(persona.key));
    bar.append(button);
  });
  renderBadge();
}

// Who the current persona is; an МОЦ persona can be moved to another municipality here.
function renderBadge() {
  const badge = $("persona-badge");
  const persona = currentPersona();
  badge.replaceChildren();
  if (!persona) return;
  if (persona.role !== "staff" || !presets.length) {
    badge.textContent = `${persona.first_name} · ${roleTitle(persona)}`;
    return;
  }
  const role = UI_TEXT[app.lang].roles.staff;
  const select = el("select", "staff-municipality");
  select.id = "staff-municipality";
  select.title = t("staffMunicipality");
  for (const preset of presets) {
    const option = el("option", "", preset.name);
    option.value = preset.name;
    select.append(option);
  }
  select.value = persona.municipality || "";
  select.addEventListener("change", () => moveStaff(persona, select.value));
  badge.append(el("span", "", `${persona.first_name} · ${role}`), select);
}

async function moveStaff(persona, name) {
  try {
    const result = await api(`/api/personas/${encodeURIComponent(persona.key)}/municipality`, {
      name,
    });
    persona.municipality = result.municipality;
    showToast(`${UI_TEXT[app.lang].roles.staff}: ${result.municipality}`);
  } catch (error) {
    showToast(`${t("failed")}: ${error.message}`);
  }
  renderBadge();
}

function currentPersona() {
  return app.personas.find((p) => p.key === app.current);
}

async function selectPersona(key) {
  if (!app.personas.some((p) => p.key === key)) key = app.personas[0].key;
  app.current = key;
  app.unread.delete(key);
  if (location.hash !== `#${key}`) history.replaceState(null, "", `#${key}`);
  $("commands-menu").hidden = true;
  setTyping(false);
  renderPersonas();
  await loadChat();
}

// --- chat state -------------------------------------------------------------------------

async function loadChat() {
  const token = ++app.loadToken;
  app.loading = true;
  app.pending = [];
  try {
    const chat = await api(`/api/chat/${encodeURIComponent(app.current)}`);
    if (token !== app.loadToken) return; // another persona was chosen meanwhile
    app.messages = new Map();
    $("messages").querySelectorAll(".message").forEach((node) => node.remove());
    for (const message of chat.messages) upsertMessage(message);
    $("empty-hint").hidden = app.messages.size > 0;
    setCommands(chat.commands);
    setReplyKeyboard(chat.reply_keyboard);
    // Events raised after the snapshot was taken still apply; earlier ones are in it.
    const later = app.pending.filter((event) => event.seq > chat.seq);
    app.loading = false;
    app.pending = [];
    later.forEach(applyEvent);
    scrollToBottom();
  } finally {
    if (token === app.loadToken) app.loading = false;
  }
}

function upsertMessage(message) {
  app.messages.set(message.id, message);
  renderMessage(message);
  $("empty-hint").hidden = app.messages.size > 0;
}

function removeMessage(id) {
  app.messages.delete(id);
  const node = messageNode(id);
  if (node) node.remove();
  $("empty-hint").hidden = app.messages.size > 0;
}

function messageNode(id) {
  return $("messages").querySelector(`.message[data-id="${Number(id)}"]`);
}

function formatTime(unix) {
  const date = new Date(unix * 1000);
  return date.toLocaleTimeString(app.lang === "ru" ? "ru-RU" : "en-GB", {
    hour: "2-digit",
    minute: "2-digit",
  });
}

function renderMessage(message) {
  const node = el("div", `message ${message.outgoing ? "out" : "in"}`);
  node.dataset.id = String(message.id);
  const bubble = el("div", "bubble");

  if (message.photo) {
    const img = el("img", "photo");
    img.src = message.photo;
    img.alt = "";
    bubble.append(img);
  }
  if (message.document) {
    const link = el("a", "document");
    link.href = message.document.url;
    link.download = message.document.name || "file";
    link.title = t("download");
    link.append(el("span", "doc-icon", "⬇"), el("span", "doc-name", message.document.name || "file"));
    bubble.append(link);
  }
  if (message.location) {
    const card = el("div", "location-card");
    const { latitude, longitude } = message.location;
    card.append(
      el("span", "pin", "📍"),
      el("span", "", `${t("location")}: ${latitude.toFixed(5)}, ${longitude.toFixed(5)}`),
    );
    bubble.append(card);
  }
  const meta = el("span", "meta", (message.edited ? `${t("edited")} ` : "") + formatTime(message.date));
  if (message.html) {
    const text = el("div", "text");
    text.innerHTML = message.html; // sanitized server-side to Telegram's tags only
    text.querySelectorAll(".spoiler").forEach((spoiler) => {
      spoiler.addEventListener("click", () => spoiler.classList.add("revealed"));
    });
    text.append(meta); // floats right on the last line, as in Telegram
    bubble.append(text);
  } else {
    bubble.append(meta);
  }
  node.append(bubble);

  if (message.inline_keyboard && message.inline_keyboard.length) {
    node.classList.add("with-keyboard");
    node.append(renderInlineKeyboard(message));
  }

  const old = messageNode(message.id);
  if (old) {
    old.replaceWith(node);
    return;
  }
  // Keep chat order by message id even if events arrive out of order.
  const list = $("messages");
  const after = [...list.querySelectorAll(".message")].find((n) => Number(n.dataset.id) > message.id);
  list.insertBefore(node, after || null);
}

function renderInlineKeyboard(message) {
  const keyboard = el("div", "inline-keyboard");
  for (const row of message.inline_keyboard) {
    const rowNode = el("div", "inline-row");
    for (const button of row) {
      const node = el("button", "inline-button", button.text);
      node.type = "button";
      if (button.callback_data !== null && button.callback_data !== undefined) {
        node.addEventListener("click", () => press(message.id, button.callback_data, node));
      } else if (button.url) {
        node.classList.add("url");
        node.title = button.url;
        node.addEventListener("click", () => window.open(button.url, "_blank", "noopener"));
      } else {
        node.disabled = true;
        node.title = t("unsupported");
      }
      rowNode.append(node);
    }
    keyboard.append(rowNode);
  }
  return keyboard;
}

function scrollToBottom() {
  const list = $("messages");
  list.scrollTop = list.scrollHeight;
}

// --- commands menu and reply keyboard ------------------------------------------------------

function setCommands(commands) {
  app.commands = commands || [];
  $("menu-button").hidden = app.commands.length === 0;
  const list = $("commands-list");
  list.replaceChildren();
  for (const command of app.commands) {
    const item = el("li");
    const button = el("button");
    button.type = "button";
    button.dataset.command = command.command;
    button.append(
      el("span", "command-name", `/${command.command}`),
      el("span", "command-description", command.description),
    );
    button.addEventListener("click", () => {
      $("commands-menu").hidden = true;
      sendText(`/${command.command}`);
    });
    item.append(button);
    list.append(item);
  }
  if (app.commands.length === 0) $("commands-menu").hidden = true;
}

function setReplyKeyboard(keyboard) {
  app.replyKeyboard = keyboard || null;
  app.keyboardOpen = Boolean(keyboard);
  renderReplyKeyboard();
  renderPlaceholder();
}

function renderPlaceholder() {
  const custom = app.replyKeyboard && app.replyKeyboard.placeholder;
  $("message-input").placeholder = custom || t("placeholder");
}

function renderReplyKeyboard() {
  const panel = $("reply-keyboard");
  const keyboard = app.replyKeyboard;
  $("keyboard-toggle").hidden = !keyboard;
  panel.replaceChildren();
  panel.hidden = !(keyboard && app.keyboardOpen);
  if (!keyboard) return;
  for (const row of keyboard.rows) {
    const rowNode = el("div", "reply-row");
    for (const button of row) {
      const node = el("button", "reply-button", button.text);
      node.type = "button";
      node.addEventListener("click", () => {
        if (keyboard.one_time) {
          app.keyboardOpen = false;
          renderReplyKeyboard();
        }
        if (button.request_location) openLocationDialog();
        else sendText(button.text);
      });
      rowNode.append(node);
    }
    panel.append(rowNode);
  }
}

// --- actions ------------------------------------------------------------------------------

async function sendText(text) {
  if (!text.trim()) return;
  try {
    const result = await api(`/api/chat/${encodeURIComponent(app.current)}/send`, { text });
    if (result.message) upsertMessage(result.message);
    scrollToBottom();
  } catch (error) {
    showToast(`${t("failed")}: ${error.message}`);
  }
}

async function press(messageId, data, node) {
  node.classList.add("pending");
  setTimeout(() => node.classList.remove("pending"), 4000);
  try {
    await api(`/api/chat/${encodeURIComponent(app.current)}/press`, { message_id: messageId, data });
  } catch (error) {
    node.classList.remove("pending");
    showToast(`${t("failed")}: ${error.message}`);
  }
}

async function sendLocation(latitude, longitude) {
  try {
    const result = await api(`/api/chat/${encodeURIComponent(app.current)}/location`, {
      latitude,
      longitude,
    });
    if (result.message) upsertMessage(result.message);
    scrollToBottom();
  } catch (error) {
    showToast(`${t("failed")}: ${error.message}`);
  }
}

let typingTimer = null;

// "typing…" under the bot's name, as Telegram shows a chat action for up to five seconds.
function setTyping(on) {
  const subtitle = $("chat-subtitle");
  subtitle.textContent = on ? t("typing") : t("bot");
  clearTimeout(typingTimer);
  if (on) typingTimer = setTimeout(() => setTyping(false), 5000);
}

let toastTimer = null;

function showToast(text) {
  const toast = $("toast");
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { toast.hidden = true; }, 3000);
}

function showAlert(text) {
  $("alert-text").textContent = text;
  const dialog = $("alert-dialog");
  if (!dialog.open) dialog.showModal();
}

// --- location dialog -------------------------------------------------------------------------

function fillPresets() {
  const select = $("location-preset");
  select.replaceChildren(el("option", "", t("choosePreset")));
  select.firstChild.value = "";
  presets.forEach((preset, index) => {
    const option = el("option", "", preset.name);
    option.value = String(index);
    select.append(option);
  });
}

function openLocationDialog() {
  $("location-dialog").showModal();
}

function setupLocationDialog() {
  $("location-preset").addEventListener("change", (event) => {
    const preset = presets[Number(event.target.value)];
    if (!event.target.value || !preset) return;
    $("location-lat").value = String(preset.latitude);
    $("location-lon").value = String(preset.longitude);
  });
  $("location-cancel").addEventListener("click", () => $("location-dialog").close());
  $("location-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const latitude = Number($("location-lat").value);
    const longitude = Number($("location-lon").value);
    const valid = $("location-lat").value !== "" && $("location-lon").value !== ""
      && Math.abs(latitude) <= 90 && Math.abs(longitude) <= 180;
    if (!valid) {
      showToast(t("badCoords"));
      return;
    }
    $("location-dialog").close();
    sendLocation(latitude, longitude);
  });
}

// --- live events ------------------------------------------------------------------------------

function applyEvent(event) {
  switch (event.type) {
    case "message":
      upsertMessage(event.message);
      if (!event.message.outgoing) {
        setTyping(false);
        scrollToBottom();
      }
      break;
    case "typing":
      setTyping(true);
      break;
    case "delete":
      removeMessage(event.message_id);
      break;
    case "callback_answer":
      document.querySelectorAll(".inline-button.pending").forEach((n) => n.classList.remove("pending"));
      if (event.text && event.show_alert) showAlert(event.text);
      else if (event.text) showToast(event.text);
      break;
    case "reply_keyboard":
      setReplyKeyboard(event.reply_keyboard);
      break;
    case "commands":
      setCommands(event.commands);
      break;
    default:
      break;
  }
}

function onEvent(event) {
  if (event.persona !== app.current) {
    if (event.type === "message" && !event.message.outgoing && event.new) {
      app.unread.set(event.persona, (app.unread.get(event.persona) || 0) + 1);
      renderPersonas();
    }
    return;
  }
  if (app.loading) app.pending.push(event);
  else applyEvent(event);
}

function connectEvents() {
  const source = new EventSource("/api/events");
  const types = ["message", "delete", "callback_answer", "reply_keyboard", "commands", "typing"];
  for (const type of types) {
    source.addEventListener(type, (raw) => onEvent({ ...JSON.parse(raw.data), type }));
  }
  let wasOpen = false;
  source.addEventListener("open", () => {
    // After a reconnect events may have been missed: take the chat state afresh.
    if (wasOpen && app.current) loadChat();
    wasOpen = true;
  });
  source.addEventListener("error", () => {
    if (source.readyState !== EventSource.OPEN) showToast(t("offline"));
  });
}

// --- start -------------------------------------------------------------------------------------

function setupComposer() {
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("message-input");
    const text = input.value;
    input.value = "";
    sendText(text);
  });
  $("menu-button").addEventListener("click", () => {
    const menu = $("commands-menu");
    menu.hidden = !menu.hidden;
  });
  $("location-button").addEventListener("click", openLocationDialog);
  $("keyboard-toggle").addEventListener("click", () => {
    app.keyboardOpen = !app.keyboardOpen;
    renderReplyKeyboard();
  });
  $("lang-toggle").addEventListener("click", () => {
    app.lang = app.lang === "ru" ? "en" : "ru";
    localStorage.setItem("sandbox-lang", app.lang);
    applyLanguage();
  });
}

async function start() {
  // Russian by default, as the bot; the toggle's choice is remembered.
  const saved = localStorage.getItem("sandbox-lang");
  app.lang = UI_TEXT[saved] ? saved : "ru";
  setupComposer();
  setupLocationDialog();
  const info = await api("/api/personas");
  app.personas = info.personas;
  presets = info.locations || [];
  if (info.bot && info.bot.first_name) $("bot-name").textContent = info.bot.first_name;
  applyLanguage();
  connectEvents();
  await selectPersona(decodeURIComponent(location.hash.slice(1)) || app.personas[0].key);
  window.addEventListener("hashchange", () => {
    const key = decodeURIComponent(location.hash.slice(1));
    if (key && key !== app.current) selectPersona(key);
  });
}

document.addEventListener("DOMContentLoaded", start);
