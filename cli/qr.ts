import { readFileSync, writeFileSync } from 'node:fs';
import { PANEL_SIZES, parsePanelSize } from '../adapters/display/panels.js';
import { renderFramePng } from '../adapters/display/png.js';
import { systemClock } from '../core/clock.js';
import { parseQrSigningKey } from '../core/config.js';
import { InputError } from '../core/errors.js';
import { isLanguage, LANGUAGES } from '../core/language.js';
import { checkSaleAmount, paise, parseAmountInput } from '../core/money.js';
import { buildDynamicQr } from '../core/sale/dynamic-qr.js';
import { integer, parse, required } from './args.js';
import type { CommandIo } from './main.js';

export const QR_HELP = `dakbox qr --vpa VPA --name NAME --amount 250.00 --out collect.png
          [--note TEXT] [--tr REF] [--mcc 9402] [--expires SECONDS] [--size 480x320] [--lang en|hi|bn|kn]
          [--signing-key key.pem --org-id ID]
  Writes the collect screen the LCD would show for this sale and prints the
  UPI URI its QR encodes. Without --tr a one-off reference is made from the
  time; a device makes its own from its ledger.`;

/** A one-off QR has no device config and so no per-sale limit; ₹1 crore is far above any counter sale. */
const ONE_OFF_LIMIT = paise(10_000_000_00);

export function qrCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values } = parse(argv, {
    vpa: { type: 'string' },
    name: { type: 'string' },
    amount: { type: 'string' },
    out: { type: 'string' },
    note: { type: 'string' },
    tr: { type: 'string' },
    mcc: { type: 'string', default: '9402' },
    expires: { type: 'string', default: '300' },
    size: { type: 'string', default: '480x320' },
    lang: { type: 'string', default: 'en' },
    'signing-key': { type: 'string' },
    'org-id': { type: 'string' },
  });
  const amount = checkSaleAmount(parseAmountInput(required(values.amount, '--amount'), '--amount'), ONE_OFF_LIMIT, '--amount');
  const out = required(values.out, '--out');
  if (!isLanguage(values.lang)) throw new InputError('--lang', `must be one of ${LANGUAGES.join(', ')}`);
  let size;
  try {
    size = parsePanelSize(values.size);
  } catch {
    throw new InputError('--size', `must be a panel size like ${Object.keys(PANEL_SIZES).join(', ')}`);
  }
  const lifetime = integer(values.expires, '--expires', 30, 3600) ?? 300;
  const now = systemClock.now();
  let signing;
  if (values['signing-key']) {
    signing = { key: parseQrSigningKey(readFileSync(values['signing-key'], 'utf8'), '--signing-key'), orgId: required(values['org-id'], '--org-id') };
  }
  const qr = buildDynamicQr({
    vpa: required(values.vpa, '--vpa'),
    payeeName: required(values.name, '--name'),
    mcc: values.mcc,
    tr: values.tr ?? `QR-${Math.floor(now / 1000)}`,
    note: values.note,
    amount,
    shownAt: now,
    expiresAt: now + lifetime * 1000,
    ...(signing ? { signing } : {}),
  });
  const png = renderFramePng(
    { screen: { kind: 'collect', uri: qr.uri, amount, payeeName: qr.fields.pn, tr: qr.fields.tr, expiresAt: qr.fields.expiresAt, now }, language: values.lang, link: 'online' },
    size,
  );
  writeFileSync(out, png);
  io.stdout.write(`${qr.uri}\n`);
  return Promise.resolve(0);
}
