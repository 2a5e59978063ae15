import { formatRupees } from '../../core/money.js';
import { centred, inset, rect, splitLeft, splitTop, type Rect } from './geometry.js';
import {
  countdownHeight,
  placeText,
  stack,
  textHeight,
  unitFor,
  type Block,
  type Composition,
  type LayoutKit,
  type StackItem,
  type Surface,
  type TextItem,
} from './layout.js';
import { planQr, type QrPlan } from './qr.js';
import type { LinkState } from '../../core/link/link-state.js';
import type { Frame, PanelSize, Screen, ScreenKind } from '../../core/ports/display.js';
import { screenText, type ScreenText } from './strings.js';
import { fitText, INK_GUARD, type TextMeasure } from './text.js';
import { COLOURS, type Colour } from './theme.js';

export type ScreenOf<K extends ScreenKind> = Extract<Screen, { kind: K }>;

/** What one screen's layout gets: its screen, the room left by the banner, and the kit. */
export interface ScreenState<K extends ScreenKind> {
  readonly screen: ScreenOf<K>;
  readonly link: LinkState;
  readonly area: Rect;
  readonly kit: LayoutKit;
  readonly text: ScreenText;
}

export interface ScreenPart {
  readonly surfaces: Surface[];
  readonly blocks: Block[];
}

type Orientation = 'landscape' | 'portrait' | 'square';

function orientationOf(area: Rect): Orientation {
  if (area.width >= area.height * 1.25) return 'landscape';
  if (area.height >= area.width * 1.25) return 'portrait';
  return 'square';
}

function margin(kit: LayoutKit): number {
  return Math.max(4, Math.round(6 * kit.unit));
}

const ui = { role: 'ui', bold: false } as const;
const uiBold = { role: 'ui', bold: true } as const;
const figuresBold = { role: 'figures', bold: true } as const;

/**
 * Lays out a whole frame: the link banner across the top when the payment
 * link is not online, and the screen in the room below it. The banner takes
 * its own band instead of covering the screen, so nothing (least of all the
 * QR) is hidden while the link is down.
 */
export function compose(frame: Frame, size: PanelSize, measure: TextMeasure): Composition {
  const kit: LayoutKit = { measure, language: frame.language, unit: unitFor(size), panel: size };
  const text = screenText(frame.language);
  const panel = rect(0, 0, size.width, size.height);
  const surfaces: Surface[] = [];
  const blocks: Block[] = [];
  let area = panel;
  if (frame.link !== 'online') {
    const banner = composeBanner(kit, text, panel, frame.link);
    surfaces.push(...banner.surfaces);
    blocks.push(...banner.blocks);
    area = banner.rest;
  }
  const part = composeScreen(frame.screen, frame.link, area, kit, text);
  return { size, paper: COLOURS.paper, surfaces: [...surfaces, ...part.surfaces], blocks: [...blocks, ...part.blocks] };
}

export function composeScreen(screen: Screen, link: LinkState, area: Rect, kit: LayoutKit, text: ScreenText): ScreenPart {
  switch (screen.kind) {
    case 'boot':
      return composeBoot({ screen, link, area, kit, text });
    case 'idle':
      return composeIdle({ screen, link, area, kit, text });
    case 'collect':
      return composeCollect({ screen, link, area, kit, text });
    case 'paid':
      return composePaid({ screen, link, area, kit, text });
    case 'mismatch':
      return composeMismatch({ screen, link, area, kit, text });
    case 'failed':
      return composeFailed({ screen, link, area, kit, text });
    case 'expired':
      return composeExpired({ screen, link, area, kit, text });
    case 'cancelled':
      return composeCancelled({ screen, link, area, kit, text });
    case 'info':
      return composeInfo({ screen, link, area, kit, text });
    case 'selftest':
      return composeSelfTest({ screen, link, area, kit, text });
    case 'fault':
      return composeFault({ screen, link, area, kit, text });
  }
}

function composeBanner(kit: LayoutKit, text: ScreenText, panel: Rect, link: Exclude<LinkState, 'online'>): ScreenPart & { rest: Rect } {
  const u = kit.unit;
  const m = margin(kit);
  const pad = Math.max(2, Math.round(3 * u));
  const offline = link === 'offline';
  const fitted = fitText(
    kit.measure,
    { text: offline ? text.offline : text.connecting, style: uiBold, language: kit.language, size: Math.round(13 * u), minSize: 10 },
    panel.width - 2 * m,
  );
  const [band, rest] = splitTop(panel, fitted.height + 2 * INK_GUARD + 2 * pad);
  const line = rect(band.x + m, band.y + pad, band.width - 2 * m, band.height - 2 * pad);
  const block = placeText({ role: 'banner', colour: offline ? COLOURS.onOffline : COLOURS.onConnecting }, fitted, line, 'centre');
  return { surfaces: [{ rect: band, colour: offline ? COLOURS.offline : COLOURS.connecting }], blocks: [block], rest };
}

/** A coloured band across the top of `area` carrying one line of text. */
function band(kit: LayoutKit, area: Rect, role: string, label: string, colour: Colour, onColour: Colour): ScreenPart & { rest: Rect } {
  const u = kit.unit;
  const m = margin(kit);
  const pad = Math.max(3, Math.round(5 * u));
  const fitted = fitText(kit.measure, { text: label, style: uiBold, language: kit.language, size: Math.round(16 * u), minSize: 11 }, area.width - 2 * m);
  const [top, rest] = splitTop(area, fitted.height + 2 * INK_GUARD + 2 * pad);
  const block = placeText({ role, colour: onColour }, fitted, rect(top.x + m, top.y + pad, top.width - 2 * m, top.height - 2 * pad), 'centre');
  return { surfaces: [{ rect: top, colour }], blocks: [block], rest };
}

/** A thin strip of the state's colour across the top: visible from across the counter. */
function accent(kit: LayoutKit, area: Rect, colour: Colour): { surface: Surface; rest: Rect } {
  const [strip, rest] = splitTop(area, Math.max(3, Math.round(5 * kit.unit)));
  return { surface: { rect: strip, colour }, rest };
}

function body(kit: LayoutKit, area: Rect, items: StackItem[]): Block[] {
  const m = margin(kit);
  return stack(kit, inset(area, m), items, { gap: Math.round(6 * kit.unit) });
}

function composeBoot({ screen, area, kit, text }: ScreenState<'boot'>): ScreenPart {
  const u = kit.unit;
  const top = band(kit, area, 'brand', text.brand, COLOURS.brand, COLOURS.onBrand);
  const blocks = body(kit, top.rest, [
    { kind: 'text', role: 'product', text: 'dakbox', style: figuresBold, size: 34 * u, minSize: 16, colour: COLOURS.brand, priority: 0 },
    { kind: 'text', role: 'status', text: text.starting, style: ui, size: 16 * u, minSize: 11, colour: COLOURS.ink, priority: 0 },
    { kind: 'text', role: 'firmware', text: text.firmware(screen.firmware), style: ui, size: 12 * u, minSize: 9, colour: COLOURS.muted, priority: 1 },
    { kind: 'text', role: 'device', text: text.device(screen.deviceId), style: ui, size: 12 * u, minSize: 9, colour: COLOURS.muted, priority: 1 },
  ]);
  return { surfaces: top.surfaces, blocks: [...top.blocks, ...blocks] };
}

function linkLine(text: ScreenText, link: LinkState): { label: string; colour: Colour } {
  switch (link) {
    case 'online':
      return { label: `● ${text.online}`, colour: COLOURS.success };
    case 'connecting':
      return { label: `● ${text.connecting}`, colour: COLOURS.warning };
    case 'offline':
      return { label: `● ${text.offline[1]}`, colour: COLOURS.danger };
  }
}

function composeIdle({ screen, link, area, kit, text }: ScreenState<'idle'>): ScreenPart {
  const u = kit.unit;
  const top = band(kit, area, 'payee', screen.payeeName, COLOURS.brand, COLOURS.onBrand);
  const status = linkLine(text, link);
  const blocks = body(kit, top.rest, [
    { kind: 'icon', role: 'icon', icon: 'tick', size: 40 * u, minSize: 20, colour: COLOURS.success, priority: 5 },
    { kind: 'text', role: 'ready', text: text.ready, style: uiBold, size: 36 * u, minSize: 16, colour: COLOURS.ink, priority: 0 },
    { kind: 'text', role: 'waiting', text: text.waitingForSale, style: ui, size: 14 * u, minSize: 10, colour: COLOURS.muted, maxLines: 2, priority: 2 },
    { kind: 'text', role: 'link', text: status.label, style: ui, size: 12 * u, minSize: 9, colour: status.colour, priority: 1 },
    { kind: 'text', role: 'device', text: text.device(screen.deviceId), style: ui, size: 11 * u, minSize: 9, colour: COLOURS.muted, priority: 3 },
  ]);
  return { surfaces: top.surfaces, blocks: [...top.blocks, ...blocks] };
}

/**
 * The sale screen. The QR gets the most room the panel allows, in whole
 * pixels per module with its quiet zone; the amount, countdown and the rest
 * share what is left: a column beside it on landscape panels, below it on
 * portrait ones, and a single row under it on square ones.
 */
function composeCollect({ screen, area, kit, text }: ScreenState<'collect'>): ScreenPart {
  const u = kit.unit;
  const m = margin(kit);
  const amount: TextItem = { kind: 'text', role: 'amount', text: formatRupees(screen.amount), style: figuresBold, size: 32 * u, minSize: 16, colour: COLOURS.ink, priority: 0 };
  const countdown: StackItem = {
    kind: 'countdown',
    role: 'countdown',
    size: 24 * u,
    minSize: 14,
    colour: COLOURS.ink,
    urgentColour: COLOURS.danger,
    paper: COLOURS.paper,
    priority: 0,
  };
  const orientation = orientationOf(area);

  if (orientation === 'square') {
    const rowWidth = area.width - 2 * m;
    const amountWidth = Math.floor(rowWidth * 0.58);
    const rowMin = Math.max(textHeight(kit, amount, amountWidth), countdownHeight(kit, countdown.minSize)) + m;
    // Stronger error correction only if the amount can still be large.
    const rowComfortable = Math.max(textHeight(kit, amount, amountWidth, Math.round(28 * u)), countdownHeight(kit, Math.round(22 * u))) + m;
    const plan = planQr(screen.uri, Math.min(area.width, area.height - rowMin), area.height - rowComfortable);
    if (!plan) return qrDoesNotFit(kit, area);
    const qr = rect(area.x + Math.floor((area.width - plan.boxPx) / 2), area.y, plan.boxPx, plan.boxPx);
    const row = rect(area.x + m, area.y + plan.boxPx, rowWidth, area.height - plan.boxPx - m);
    const [left, right] = splitLeft(row, amountWidth);
    return {
      surfaces: [],
      blocks: [
        { kind: 'qr', role: 'qr', rect: qr, plan },
        ...stack(kit, left, [{ ...amount, align: 'left' }], { gap: 0 }),
        ...stack(kit, right, [{ ...countdown, align: 'right' }], { gap: 0 }),
      ],
    };
  }

  const column: StackItem[] = [
    { kind: 'text', role: 'payee', text: screen.payeeName, style: uiBold, size: 15 * u, minSize: 11, colour: COLOURS.brand, maxLines: 2, allowCut: true, priority: 3 },
    amount,
    { kind: 'text', role: 'hint', text: text.scanWithAnyUpiApp, style: ui, size: 13 * u, minSize: 10, colour: COLOURS.ink, maxLines: 2, priority: 2 },
    { kind: 'text', role: 'expires-label', text: text.expiresIn, style: ui, size: 11 * u, minSize: 9, colour: COLOURS.muted, priority: 1 },
    countdown,
    { kind: 'text', role: 'reference', text: text.reference(screen.tr), style: ui, size: 10 * u, minSize: 9, colour: COLOURS.muted, priority: 4 },
  ];

  let plan: QrPlan | undefined;
  let qr: Rect;
  let rest: Rect;
  if (orientation === 'landscape') {
    plan = planQr(screen.uri, Math.min(area.height, Math.floor(area.width * 0.62)));
    if (!plan) return qrDoesNotFit(kit, area);
    qr = rect(area.x, area.y + Math.floor((area.height - plan.boxPx) / 2), plan.boxPx, plan.boxPx);
    rest = rect(area.x + plan.boxPx, area.y + m, area.width - plan.boxPx - m, area.height - 2 * m);
  } else {
    plan = planQr(screen.uri, Math.min(area.width, Math.floor(area.height * 0.62)));
    if (!plan) return qrDoesNotFit(kit, area);
    qr = rect(area.x + Math.floor((area.width - plan.boxPx) / 2), area.y, plan.boxPx, plan.boxPx);
    rest = rect(area.x + m, area.y + plan.boxPx, area.width - 2 * m, area.height - plan.boxPx - m);
  }
  return { surfaces: [], blocks: [{ kind: 'qr', role: 'qr', rect: qr, plan }, ...stack(kit, rest, column, { gap: Math.round(5 * u) })] };
}

function qrDoesNotFit(kit: LayoutKit, area: Rect): ScreenPart {
  return {
    surfaces: [],
    blocks: body(kit, area, [{ kind: 'text', role: 'error', text: 'QR does not fit this panel', style: figuresBold, size: 14, minSize: 8, colour: COLOURS.danger, maxLines: 3, priority: 0 }]),
  };
}

function composePaid({ screen, area, kit, text }: ScreenState<'paid'>): ScreenPart {
  const u = kit.unit;
  const top = accent(kit, area, COLOURS.success);
  const items: StackItem[] = [
    { kind: 'icon', role: 'icon', icon: 'tick', size: 48 * u, minSize: 20, colour: COLOURS.success, priority: 5 },
    { kind: 'text', role: 'title', text: text.paymentReceived, style: uiBold, size: 18 * u, minSize: 12, colour: COLOURS.success, maxLines: 2, priority: 0 },
    { kind: 'text', role: 'amount', text: formatRupees(screen.amount), style: figuresBold, size: 38 * u, minSize: 18, colour: COLOURS.ink, priority: 0 },
  ];
  if (screen.late) {
    items.push({ kind: 'text', role: 'late', text: text.paidLate, style: uiBold, size: 12 * u, minSize: 9, colour: COLOURS.warning, maxLines: 2, priority: 1 });
  }
  items.push({ kind: 'text', role: 'utr', text: text.utr(screen.utr), style: ui, size: 13 * u, minSize: 9, colour: COLOURS.ink, priority: 2 });
  if (screen.payer !== undefined) {
    items.push({ kind: 'text', role: 'payer', text: text.payer(screen.payer), style: ui, size: 12 * u, minSize: 9, colour: COLOURS.muted, priority: 3 });
  }
  return { surfaces: [top.surface], blocks: body(kit, top.rest, items) };
}

function composeMismatch({ screen, area, kit, text }: ScreenState<'mismatch'>): ScreenPart {
  const u = kit.unit;
  const top = accent(kit, area, COLOURS.warning);
  const items: StackItem[] = [
    { kind: 'icon', role: 'icon', icon: 'warning', size: 42 * u, minSize: 20, colour: COLOURS.warning, priority: 5 },
    { kind: 'text', role: 'title', text: text.mismatch, style: uiBold, size: 17 * u, minSize: 11, colour: COLOURS.warning, maxLines: 2, priority: 0 },
    { kind: 'text', role: 'received', text: text.received(formatRupees(screen.received)), style: uiBold, size: 26 * u, minSize: 13, colour: COLOURS.ink, maxLines: 2, priority: 0 },
    { kind: 'text', role: 'asked', text: text.asked(formatRupees(screen.asked)), style: ui, size: 15 * u, minSize: 11, colour: COLOURS.ink, priority: 0 },
    { kind: 'text', role: 'check', text: text.checkWithCustomer, style: ui, size: 13 * u, minSize: 9, colour: COLOURS.ink, maxLines: 2, priority: 1 },
    { kind: 'text', role: 'utr', text: text.utr(screen.utr), style: ui, size: 12 * u, minSize: 9, colour: COLOURS.muted, priority: 2 },
  ];
  if (screen.payer !== undefined) {
    items.push({ kind: 'text', role: 'payer', text: text.payer(screen.payer), style: ui, size: 12 * u, minSize: 9, colour: COLOURS.muted, priority: 3 });
  }
  return { surfaces: [{ rect: top.rest, colour: COLOURS.warningPaper }, top.surface], blocks: body(kit, top.rest, items) };
}

function outcome(
  kit: LayoutKit,
  area: Rect,
  colour: Colour,
  icon: 'cross' | 'clock' | 'cancelled',
  title: string,
  amount: string,
  advice: string | undefined,
  reference: string,
): ScreenPart {
  const u = kit.unit;
  const top = accent(kit, area, colour);
  const items: StackItem[] = [
    { kind: 'icon', role: 'icon', icon, size: 44 * u, minSize: 20, colour, priority: 5 },
    { kind: 'text', role: 'title', text: title, style: uiBold, size: 18 * u, minSize: 12, colour, maxLines: 2, priority: 0 },
    { kind: 'text', role: 'amount', text: amount, style: figuresBold, size: 30 * u, minSize: 16, colour: COLOURS.ink, priority: 0 },
  ];
  if (advice !== undefined) {
    items.push({ kind: 'text', role: 'advice', text: advice, style: ui, size: 13 * u, minSize: 9, colour: COLOURS.ink, maxLines: 2, priority: 1 });
  }
  items.push({ kind: 'text', role: 'reference', text: reference, style: ui, size: 11 * u, minSize: 9, colour: COLOURS.muted, priority: 3 });
  return { surfaces: [top.surface], blocks: body(kit, top.rest, items) };
}

function composeFailed({ screen, area, kit, text }: ScreenState<'failed'>): ScreenPart {
  return outcome(kit, area, COLOURS.danger, 'cross', text.paymentFailed, formatRupees(screen.amount), text.tryAgain, text.reference(screen.tr));
}

function composeExpired({ screen, area, kit, text }: ScreenState<'expired'>): ScreenPart {
  return outcome(kit, area, COLOURS.neutral, 'clock', text.qrExpired, formatRupees(screen.amount), text.startAgain, text.reference(screen.tr));
}

function composeCancelled({ screen, area, kit, text }: ScreenState<'cancelled'>): ScreenPart {
  return outcome(kit, area, COLOURS.neutral, 'cancelled', text.saleCancelled, formatRupees(screen.amount), undefined, text.reference(screen.tr));
}

/** Sales are paused: what is wrong, in the clerk's words, and the device id to give the engineer. */
function composeFault({ screen, area, kit, text }: ScreenState<'fault'>): ScreenPart {
  const u = kit.unit;
  const top = accent(kit, area, COLOURS.danger);
  const fault = text.fault[screen.fault];
  const items: StackItem[] = [
    { kind: 'icon', role: 'icon', icon: 'warning', size: 44 * u, minSize: 20, colour: COLOURS.danger, priority: 5 },
    { kind: 'text', role: 'title', text: fault.title, style: uiBold, size: 20 * u, minSize: 12, colour: COLOURS.danger, maxLines: 2, priority: 0 },
    { kind: 'text', role: 'advice', text: fault.advice, style: ui, size: 14 * u, minSize: 9, colour: COLOURS.ink, maxLines: 3, priority: 0 },
    { kind: 'text', role: 'paused', text: text.salesPaused, style: uiBold, size: 13 * u, minSize: 9, colour: COLOURS.ink, maxLines: 2, priority: 1 },
    { kind: 'text', role: 'device', text: text.device(screen.deviceId), style: ui, size: 11 * u, minSize: 9, colour: COLOURS.muted, priority: 3 },
  ];
  return { surfaces: [top.surface], blocks: body(kit, top.rest, items) };
}

/**
 * The field engineer's page: what the device is and where it connects, and
 * a QR their phone scans to record the device without typing its id.
 */
function composeInfo({ screen, area, kit, text }: ScreenState<'info'>): ScreenPart {
  const u = kit.unit;
  const m = margin(kit);
  const top = band(kit, area, 'title', text.deviceInfo, COLOURS.brand, COLOURS.onBrand);
  const room = top.rest;
  const portrait = orientationOf(room) === 'portrait';
  const caption: TextItem = { kind: 'text', role: 'caption', text: text.scanToIdentify, style: ui, size: 10 * u, minSize: 9, colour: COLOURS.muted, maxLines: 2, priority: 0 };

  const qrRoom = portrait ? rect(room.x, room.y + room.height - Math.floor(room.height * 0.45), room.width, Math.floor(room.height * 0.45)) : rect(room.x + room.width - Math.floor(room.width * 0.42), room.y, Math.floor(room.width * 0.42), room.height);
  const captionWidth = qrRoom.width - 2 * m;
  const captionHeight = textHeight(kit, caption, captionWidth);
  const plan = planQr(screen.identity, Math.min(qrRoom.width, qrRoom.height - captionHeight - m));
  const blocks: Block[] = [];
  let list: Rect;
  if (plan) {
    const group = centred(qrRoom, plan.boxPx, plan.boxPx + captionHeight);
    blocks.push({ kind: 'qr', role: 'identity-qr', rect: rect(group.x, group.y, plan.boxPx, plan.boxPx), plan });
    blocks.push(...stack(kit, rect(qrRoom.x + m, group.y + plan.boxPx, captionWidth, captionHeight), [caption], { gap: 0 }));
    list = portrait ? rect(room.x + m, room.y + m, room.width - 2 * m, room.height - qrRoom.height - m) : rect(room.x + m, room.y + m, room.width - qrRoom.width - m, room.height - 2 * m);
  } else {
    list = inset(room, m);
  }

  const field = (role: string, label: string, value: string, priority: number): StackItem[] => [
    { kind: 'text', role: `${role}-label`, text: label, style: ui, size: 10 * u, minSize: 9, colour: COLOURS.muted, align: 'left', priority: priority + 2 },
    { kind: 'text', role, text: value, style: figuresBold, size: 14 * u, minSize: 10, colour: COLOURS.ink, maxLines: 2, breakWords: true, align: 'left', priority },
  ];
  blocks.push(
    ...stack(
      kit,
      list,
      [
        ...field('device-id', text.deviceIdLabel, screen.deviceId, 0),
        ...field('firmware', text.firmwareLabel, screen.firmware, 1),
        ...field('ip', text.ipLabel, screen.ip, 0),
        ...field('broker', text.brokerLabel, screen.broker, 0),
      ],
      { gap: Math.round(3 * u), align: 'left' },
    ),
  );
  return { surfaces: top.surfaces, blocks: [...top.blocks, ...blocks] };
}

/**
 * Colour bars (are red, green and blue wired the right way round?), grey
 * and primary steps (is the gamma sane, are low bits missing?), and a
 * one-pixel grid to the panel's edges (is anything cut off or scaled?).
 */
function composeSelfTest({ area, kit, text }: ScreenState<'selftest'>): ScreenPart {
  const u = kit.unit;
  const label: TextItem = {
    kind: 'text',
    role: 'label',
    text: `${text.selfTest} ${kit.panel.width}×${kit.panel.height}`,
    style: uiBold,
    size: 12 * u,
    minSize: 9,
    colour: COLOURS.ink,
    priority: 0,
  };
  const labelHeight = textHeight(kit, label, area.width, Math.round(12 * u)) + 2 * Math.max(2, Math.round(2 * u));
  const [bars, afterBars] = splitTop(area, Math.floor(area.height * 0.42));
  const [steps, afterSteps] = splitTop(afterBars, Math.floor(area.height * 0.22));
  const [grid, labelBand] = splitTop(afterSteps, afterSteps.height - labelHeight);
  return {
    surfaces: [],
    blocks: [
      { kind: 'pattern', role: 'colour-bars', rect: bars, pattern: 'colour-bars' },
      { kind: 'pattern', role: 'gamma-steps', rect: steps, pattern: 'gamma-steps' },
      { kind: 'pattern', role: 'grid', rect: grid, pattern: 'grid' },
      ...stack(kit, labelBand, [label], { gap: 0 }),
    ],
  };
}
