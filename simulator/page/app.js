import { Phone } from './phone.js';

const $ = (id) => document.getElementById(id);

/** Counters by id: their card's elements and what the server last said about them. */
const devices = new Map();
let selected;
let socket;
let nextId = 1;
const pending = new Map();
const phone = new Phone({ send: (command) => act(command, $('phone-result')), selected: () => selected });

// ---- the socket ----------------------------------------------------------

function connect() {
  socket = new WebSocket(`ws://${location.host}/ws`);
  socket.addEventListener('open', () => setConnection('connected', 'ok'));
  socket.addEventListener('close', () => {
    setConnection('disconnected: the simulator has stopped or restarted; retrying…', 'bad');
    for (const { reject } of pending.values()) reject(new Error('the simulator went away'));
    pending.clear();
    setTimeout(connect, 1000);
  });
  socket.addEventListener('message', (event) => receive(JSON.parse(event.data)));
}

function setConnection(text, state) {
  const el = $('connection');
  el.textContent = text;
  el.dataset.state = state;
}

/** Sends a command; resolves with the server's reply line, rejects with its one-line refusal. */
function send(command) {
  if (!socket || socket.readyState !== WebSocket.OPEN) return Promise.reject(new Error('not connected to the simulator'));
  const id = nextId++;
  socket.send(JSON.stringify({ ...command, id }));
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}

/** Sends a command and shows how it went in `resultEl`. */
async function act(command, resultEl) {
  try {
    const text = await send(command);
    if (resultEl) showResult(resultEl, text ?? '', 'ok');
    return true;
  } catch (err) {
    showResult(resultEl ?? $('connection'), err.message, 'bad');
    return false;
  }
}

function showResult(el, text, state) {
  el.textContent = text;
  el.dataset.state = state;
}

function receive(message) {
  switch (message.type) {
    case 'hello':
      return setUp(message);
    case 'frame':
      return onFrame(message);
    case 'leds':
      return onLeds(message);
    case 'speech':
      return onSpeech(message);
    case 'billing':
      return forSelected(message, () => append($('billing-lines'), message.line, 40));
    case 'log':
      return forSelected(message, () => append($('log-lines'), message.line, 200));
    case 'receipt':
      return forSelected(message, () => append($('receipt-lines'), `${message.utr}: ${message.outcome}`, 40));
    case 'status':
      return onStatus(message);
    case 'records':
      return onRecords(message);
    case 'notice':
      return showResult($('fault-result'), message.text, 'ok');
    case 'done':
    case 'error': {
      const waiting = pending.get(message.id);
      pending.delete(message.id);
      if (!waiting) return showResult($('connection'), message.message ?? message.text ?? '', message.type === 'error' ? 'bad' : 'ok');
      if (message.type === 'done') waiting.resolve(message.text);
      else waiting.reject(new Error(message.message));
      return undefined;
    }
    default:
      return undefined;
  }
}

/** Lines for one counter: kept (the newest few hundred) for when it is chosen, shown now if it is. */
function forSelected(message, show) {
  const device = devices.get(message.device);
  if (device) {
    device.history.push(message);
    if (device.history.length > 600) device.history.splice(0, device.history.length - 600);
  }
  if (message.device === selected) show();
}

// ---- counters ------------------------------------------------------------

function setUp(hello) {
  phone.publicKey = hello.qrPublicKey;
  const grid = $('devices');
  grid.replaceChildren();
  devices.clear();
  grid.dataset.count = String(hello.devices.length);
  const select = $('device-select');
  select.replaceChildren(...hello.devices.map((d) => new window.Option(d.id, d.id)));
  select.closest('label').hidden = hello.devices.length < 2;
  $('size-select').replaceChildren(...hello.sizes.map((s) => new window.Option(s.replace('x', ' × '), s)));
  for (const summary of hello.devices) grid.append(deviceCard(summary));
  choose(devices.has(selected) ? selected : hello.devices[0]?.id);
}

function deviceCard(summary) {
  const card = $('device-template').content.firstElementChild.cloneNode(true);
  card.dataset.device = summary.id;
  card.querySelector('.device-name').textContent = `Counter ${summary.id}`;
  const lcd = card.querySelector('.lcd');
  lcd.alt = `LCD of counter ${summary.id}`;
  const group = card.querySelector('.buttons');
  group.setAttribute('aria-label', `Buttons of counter ${summary.id}`);
  for (const button of group.querySelectorAll('button')) holdable(button, summary.id);
  card.addEventListener('pointerdown', () => choose(summary.id));
  card.addEventListener('focusin', () => choose(summary.id));
  const leds = {};
  for (const name of ['link', 'paid', 'failed']) leds[name] = card.querySelector(`.led.${name}`);
  devices.set(summary.id, { summary, card, lcd, leds, history: [], status: undefined, records: undefined, frameUrl: undefined });
  setLeds(summary.id, { link: 0, paid: 0, failed: 0 });
  return card;
}

/**
 * A device button: pushed down on the device while the pointer or the key
 * (Space, Enter) is down, let go when it is released, so a hold of 2 s or
 * more is the firmware's long press and acts while still held, as on the
 * counter. A click from assistive technology is a short press.
 */
function holdable(button, device) {
  let down = false;
  let endedAt = -Infinity;
  const isKey = (event) => event.key === ' ' || event.key === 'Enter';
  const result = () => button.closest('.device').querySelector('.device-result');
  const send = (state) => void act({ type: 'button', device, button: button.dataset.button, state }, result());
  const start = (event) => {
    if (down || (event.type === 'keydown' && !isKey(event))) return;
    if (event.type === 'keydown') event.preventDefault();
    down = true;
    button.dataset.held = 'true';
    send('down');
  };
  const end = (event) => {
    if (!down || (event.type === 'keyup' && !isKey(event))) return;
    down = false;
    endedAt = performance.now();
    delete button.dataset.held;
    send('up');
  };
  button.addEventListener('pointerdown', start);
  button.addEventListener('keydown', start);
  button.addEventListener('pointerup', end);
  button.addEventListener('pointerleave', end);
  button.addEventListener('pointercancel', end);
  button.addEventListener('blur', () => end({ type: 'blur' }));
  button.addEventListener('keyup', end);
  // A click from assistive technology comes without pointer or key events;
  // the click that follows a press already sent is ignored.
  button.addEventListener('click', () => {
    if (down || performance.now() - endedAt < 500) return;
    void act({ type: 'press', device, button: button.dataset.button, holdMs: 150 }, result());
  });
}

/** Points the billing PC, phone, faults and records at one counter. */
function choose(id) {
  const device = devices.get(id);
  if (!device || (id === selected && device.card.classList.contains('selected'))) return;
  selected = id;
  for (const d of devices.values()) d.card.classList.toggle('selected', d === device);
  $('device-select').value = id;
  $('size-select').value = device.summary.size;
  for (const [list, type, limit] of [
    ['billing-lines', 'billing', 40],
    ['log-lines', 'log', 200],
    ['receipt-lines', 'receipt', 40],
  ]) {
    $(list).replaceChildren();
    for (const m of device.history.filter((h) => h.type === type).slice(-limit)) append($(list), type === 'receipt' ? `${m.utr}: ${m.outcome}` : m.line, limit);
  }
  if (device.status) onStatus(device.status);
  if (device.records) onRecords(device.records);
  phone.look(device.lcd);
}

function onFrame(message) {
  const device = devices.get(message.device);
  if (!device) return;
  const blob = new Blob([bytes(message.png)], { type: 'image/png' });
  const url = URL.createObjectURL(blob);
  const lcd = device.lcd;
  lcd.onload = () => {
    if (device.frameUrl) URL.revokeObjectURL(device.frameUrl);
    device.frameUrl = url;
    lcd.dataset.frames = String(Number(lcd.dataset.frames ?? '0') + 1);
    if (message.device === selected) phone.look(lcd);
  };
  lcd.alt = `LCD of counter ${message.device}: ${message.screen} screen${message.offline ? ', offline banner' : ''}`;
  device.summary.size = `${message.width}x${message.height}`;
  if (message.device === selected) $('size-select').value = device.summary.size;
  lcd.dataset.screen = message.screen;
  lcd.dataset.offline = String(message.offline);
  lcd.width = message.width;
  lcd.height = message.height;
  lcd.style.setProperty('--lcd-width', `${message.width}px`);
  lcd.style.setProperty('--lcd-ratio', `${message.width} / ${message.height}`);
  lcd.src = url;
}

function onLeds(message) {
  setLeds(message.device, message);
}

function setLeds(id, levels) {
  const device = devices.get(id);
  if (!device) return;
  const names = { link: 'Link', paid: 'Paid', failed: 'Failed' };
  for (const [name, el] of Object.entries(device.leds)) {
    const level = Math.max(0, Math.min(1, Number(levels[name]) || 0));
    el.style.setProperty('--level', String(level));
    el.dataset.on = level > 0 ? 'true' : 'false';
    el.setAttribute('aria-label', `${names[name]} LED ${level > 0 ? 'on' : 'off'}`);
    el.title = el.getAttribute('aria-label');
  }
}

function onStatus(message) {
  const device = devices.get(message.device);
  if (!device) return;
  device.status = message;
  if (message.device !== selected) return;
  const faults = [message.networkCut ? 'network cut' : '', message.cablePulled ? 'billing cable out' : ''].filter(Boolean);
  $('device-status').textContent = `link ${message.link} · volume ${message.volume} · today ${message.todayCount} paid, ${message.todayTotal}${message.sale ? ` · showing ${message.sale}` : ''}${faults.length ? ` · ${faults.join(', ')}` : ''}`;
  $('device-status').dataset.volume = String(message.volume);
  $('pull-cable').textContent = message.cablePulled ? 'Plug cable back' : 'Pull cable';
  $('pull-cable').setAttribute('aria-pressed', String(message.cablePulled));
  $('drop-network').dataset.active = String(message.networkCut);
  $('device-status').dataset.todayCount = String(message.todayCount);
}

function onRecords(message) {
  const device = devices.get(message.device);
  if (!device) return;
  device.records = message;
  if (message.device !== selected) return;
  fillRows($('sales-rows'), message.sales);
  fillRows($('payment-rows'), message.payments);
}

function fillRows(body, rows) {
  body.replaceChildren(
    ...rows.map((row) => {
      const tr = document.createElement('tr');
      for (const value of [row.at, row.amount, row.ref, row.state]) {
        const td = document.createElement('td');
        td.textContent = value;
        tr.append(td);
      }
      return tr;
    }),
  );
}

function append(list, text, limit) {
  const item = document.createElement('li');
  item.textContent = text;
  list.prepend(item);
  while (list.children.length > limit) list.lastElementChild.remove();
}

function bytes(base64) {
  const binary = atob(base64);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

// ---- the speaker ---------------------------------------------------------

const speech = { queue: [], playing: false };

function onSpeech(message) {
  const language = message.language;
  const item = document.createElement('li');
  item.textContent = `${message.device} [${language}]: ${message.text}`;
  item.lang = language;
  item.title = `language: ${language}`;
  $('speech-lines').prepend(item);
  while ($('speech-lines').children.length > 30) $('speech-lines').lastElementChild.remove();
  if ($('mute').checked) {
    item.dataset.played = 'muted';
    return;
  }
  speech.queue.push({ url: URL.createObjectURL(new Blob([bytes(message.wav)], { type: 'audio/wav' })), item });
  playNext();
}

function playNext() {
  const audio = $('speech-audio');
  if (speech.playing || speech.queue.length === 0) return;
  const { url, item } = speech.queue.shift();
  speech.playing = true;
  speech.item = item;
  if (audio.src.startsWith('blob:')) URL.revokeObjectURL(audio.src);
  audio.src = url;
  audio.play().catch(() => {
    // The browser wants a click before it plays sound: the clip stays in the
    // player, one click away.
    speech.playing = false;
  });
}

// Each line in the list says whether its sound has been heard.
$('speech-audio').addEventListener('playing', () => {
  if (speech.item) speech.item.dataset.played = 'playing';
});
$('speech-audio').addEventListener('ended', () => {
  const audio = $('speech-audio');
  if (speech.item) {
    speech.item.dataset.played = 'played';
    // How much of it the element actually played, in seconds.
    let heard = 0;
    for (let i = 0; i < audio.played.length; i++) heard += audio.played.end(i) - audio.played.start(i);
    speech.item.dataset.heardSeconds = heard.toFixed(2);
  }
  speech.playing = false;
  $('speech-audio').dataset.ended = String(Number($('speech-audio').dataset.ended ?? '0') + 1);
  playNext();
});
$('speech-audio').addEventListener('error', () => {
  speech.playing = false;
  playNext();
});
$('mute').addEventListener('change', () => {
  if (!$('mute').checked) return;
  speech.queue.length = 0;
  $('speech-audio').pause();
  speech.playing = false;
});

// ---- the billing PC, faults, the toolbar -----------------------------------

$('sale-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const ref = $('sale-ref').value.trim();
  const note = $('sale-note').value.trim();
  const expiresIn = $('sale-expires').value.trim();
  void act(
    { type: 'sale', device: selected, amount: $('sale-amount').value.trim(), ...(ref ? { ref } : {}), ...(note ? { note } : {}), ...(expiresIn ? { expiresIn: Number(expiresIn) } : {}) },
    $('sale-result'),
  );
});

const faults = {
  'stop-broker': () => ({ type: 'stop-broker', seconds: Number($('broker-seconds').value) }),
  'drop-network': () => ({ type: 'drop-network', device: selected, seconds: Number($('network-seconds').value) }),
  'step-clock': () => ({ type: 'step-clock', device: selected, minutes: Number($('clock-minutes').value) }),
  'pull-cable': () => ({ type: 'pull-cable', device: selected }),
  'power-cut': () => ({ type: 'power-cut', device: selected }),
  forge: () => ({ type: 'confirmation', device: selected, kind: 'forged' }),
  replay: () => ({ type: 'confirmation', device: selected, kind: 'replayed' }),
};
for (const [id, command] of Object.entries(faults)) {
  $(id).addEventListener('click', () => void act(command(), $('fault-result')));
}

$('device-select').addEventListener('change', () => choose($('device-select').value));
$('size-select').addEventListener('change', () => void act({ type: 'size', device: selected, size: $('size-select').value }, $('fault-result')));

setInterval(() => phone.tick(), 500);

connect();
