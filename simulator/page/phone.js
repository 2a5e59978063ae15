import { parseUpiUri, verifySignedQr } from './upi.js';

const $ = (id) => document.getElementById(id);

/**
 * The customer's phone: it reads the QR from the LCD's pixels as they are
 * in the page (jsQR over the streamed image), as a camera would, and pays
 * what it read. It knows nothing the screen does not show.
 */
export class Phone {
  constructor({ send, selected }) {
    this.send = send;
    this.selected = selected;
    /** The devices' QR-signing public key, from the server. */
    this.publicKey = undefined;
    /** The last QR read, kept after it leaves the screen (to pay it late). */
    this.qr = undefined;
    this.canvas = document.createElement('canvas');
    for (const button of document.querySelectorAll('#phone button[data-outcome]')) {
      button.addEventListener('click', () => void this.pay(button.dataset.outcome));
    }
  }

  /** Reads the LCD image as it is drawn in the page. */
  look(img) {
    if (typeof window.jsQR !== 'function') {
      $('phone-scan').textContent = 'This phone cannot read QRs: jsQR is not installed (npm ci installs it).';
      $('phone-scan').dataset.state = 'bad';
      return;
    }
    if (!img.complete || img.naturalWidth === 0) return;
    const { naturalWidth: width, naturalHeight: height } = img;
    this.canvas.width = width;
    this.canvas.height = height;
    const context = this.canvas.getContext('2d', { willReadFrequently: true });
    context.drawImage(img, 0, 0);
    const pixels = context.getImageData(0, 0, width, height);
    const code = window.jsQR(pixels.data, width, height, { inversionAttempts: 'dontInvert' });
    const qr = code ? parseUpiUri(code.data) : undefined;
    if (!qr) {
      $('phone-scan').textContent = this.qr ? 'No QR in view; the last one read is below.' : 'Point the camera at the counter\u2019s screen…';
      $('phone-scan').dataset.state = 'idle';
      return;
    }
    $('phone-scan').textContent = 'QR read from the screen';
    $('phone-scan').dataset.state = 'ok';
    if (this.qr && this.qr.uri === qr.uri) return;
    this.qr = qr;
    this.show(qr);
  }

  show(qr) {
    $('phone-qr').hidden = false;
    $('phone-payee').textContent = qr.payee;
    $('phone-vpa').textContent = qr.vpa;
    $('phone-amount').textContent = `₹${qr.amount}`;
    $('phone-amount').dataset.amount = qr.amount;
    $('phone-note').textContent = qr.note || '—';
    const verified = $('phone-verified');
    verified.dataset.state = 'checking';
    if (qr.mode !== '16' || !qr.signature) {
      verified.textContent = 'not signed (mode 15)';
      verified.dataset.state = 'unsigned';
    } else {
      verified.textContent = 'checking…';
      void verifySignedQr(qr, this.publicKey).then((ok) => {
        if (this.qr !== qr) return;
        verified.textContent = ok ? '✔ verified merchant' : '✘ signature does not match';
        verified.dataset.state = ok ? 'verified' : 'bad';
      });
    }
    for (const button of document.querySelectorAll('#phone button[data-outcome]')) button.disabled = false;
    this.tick();
  }

  /** The expiry countdown, by the phone's own clock. */
  tick() {
    if (!this.qr) return;
    const left = Math.round((this.qr.expiresAt - Date.now()) / 1000);
    const el = $('phone-expiry');
    if (!Number.isFinite(left)) el.textContent = '—';
    else if (left <= 0) el.textContent = 'expired';
    else el.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`;
    el.dataset.state = left > 0 ? 'valid' : 'expired';
  }

  async pay(outcome) {
    const qr = this.qr;
    if (!qr) return;
    const amount = outcome === 'pay-another' ? $('other-amount').value.trim() : qr.amount;
    await this.send({ type: 'pay', device: this.selected(), tr: qr.tr, outcome, amount });
  }
}
