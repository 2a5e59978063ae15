import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { EventEmitter } from 'node:events';
import mqtt, { type MqttClient } from 'mqtt';
import { formatIst, systemClock, type Clock } from '../core/clock.js';
import { signConfirmation } from '../core/payment/confirmation.js';
import type { DeviceTopics } from '../core/link/topics.js';

export interface NotifierKeys {
  privateKey: KeyObject;
  /** Base64 of the raw 32-byte public key: the form a device's notifierKeys takes. */
  publicKeyBase64: string;
}

export function generateNotifierKeys(): NotifierKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' });
  return { privateKey, publicKeyBase64: Buffer.from(jwk.x ?? '', 'base64url').toString('base64') };
}

export interface ShownQr {
  deviceId: string;
  message: DeviceTopics['qr'];
}

interface BackendEvents {
  qr: [ShownQr];
  receipt: [{ deviceId: string; message: DeviceTopics['receipt'] }];
  status: [{ deviceId: string; message: DeviceTopics['status'] }];
}

/**
 * A stand-in for the payments backend: it sees every QR the devices show,
 * plays the bank by publishing signed confirmations, and reads receipts.
 * It signs with a notifier key exactly as the real notifier must, so a
 * device cannot tell it from the real thing — which is the point.
 */
export class PaymentsBackend extends EventEmitter<BackendEvents> {
  private client?: MqttClient;
  private utrSeq = 0;
  readonly shown = new Map<string, ShownQr>();

  constructor(
    private readonly options: { url: string; prefix?: string; keys: NotifierKeys; clock?: Clock; clientId?: string; username?: string; password?: string },
  ) {
    super();
  }

  private get prefix(): string {
    return this.options.prefix ?? 'dakbox/v1';
  }

  async start(): Promise<void> {
    const client = await mqtt.connectAsync(this.options.url, {
      clientId: this.options.clientId ?? `backend-${process.pid}-${Date.now()}`,
      protocolVersion: 4,
      reconnectPeriod: 1000,
      ...(this.options.username ? { username: this.options.username } : {}),
      ...(this.options.password ? { password: this.options.password } : {}),
    });
    this.client = client;
    client.on('message', (topic, payload) => this.route(topic, payload));
    await client.subscribeAsync([`${this.prefix}/+/qr`, `${this.prefix}/+/receipt`, `${this.prefix}/+/status`], { qos: 1 });
  }

  private route(topic: string, payload: Buffer): void {
    const rest = topic.slice(this.prefix.length + 1);
    const slash = rest.indexOf('/');
    const deviceId = rest.slice(0, slash);
    const kind = rest.slice(slash + 1);
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch {
      return;
    }
    if (kind === 'qr') {
      const shown = { deviceId, message: body as DeviceTopics['qr'] };
      this.shown.set(shown.message.tr, shown);
      this.emit('qr', shown);
    } else if (kind === 'receipt') {
      this.emit('receipt', { deviceId, message: body as DeviceTopics['receipt'] });
    } else if (kind === 'status') {
      this.emit('status', { deviceId, message: body as DeviceTopics['status'] });
    }
  }

  /** Asks a device to show a QR, as a backend-initiated collect. */
  async collect(deviceId: string, request: DeviceTopics['collect']): Promise<void> {
    await this.requireClient().publishAsync(`${this.prefix}/${deviceId}/collect`, JSON.stringify(request), { qos: 1 });
  }

  nextUtr(): string {
    this.utrSeq++;
    const clock = this.options.clock ?? systemClock;
    return `SIM${Math.floor(clock.now() / 1000) % 1_000_000_000}${String(this.utrSeq).padStart(4, '0')}`;
  }

  /** Builds a signed confirmation for a QR (by default, paying exactly what it asks). */
  confirmation(
    deviceId: string,
    tr: string,
    fields: { amount: string; status?: 'SUCCESS' | 'FAILED'; utr?: string; payer?: string; paidAt?: string },
  ): Record<string, unknown> {
    const clock = this.options.clock ?? systemClock;
    return signConfirmation(
      {
        deviceId,
        tr,
        utr: fields.utr ?? this.nextUtr(),
        amount: fields.amount,
        status: fields.status ?? 'SUCCESS',
        paidAt: fields.paidAt ?? formatIst(clock.now()),
        ...(fields.payer !== undefined ? { payer: fields.payer } : {}),
      },
      this.options.keys.privateKey,
    );
  }

  /** Publishes raw bytes on a device's payment topic (tests use it for hostile input). */
  async publishPayment(deviceId: string, payload: string | Buffer): Promise<void> {
    await this.requireClient().publishAsync(`${this.prefix}/${deviceId}/payment`, payload, { qos: 1 });
  }

  async pay(deviceId: string, tr: string, fields: { amount: string; status?: 'SUCCESS' | 'FAILED'; utr?: string; payer?: string }): Promise<Record<string, unknown>> {
    const message = this.confirmation(deviceId, tr, fields);
    await this.publishPayment(deviceId, JSON.stringify(message));
    return message;
  }

  private requireClient(): MqttClient {
    if (!this.client) throw new Error('the payments backend is not started');
    return this.client;
  }

  async stop(): Promise<void> {
    await this.client?.endAsync();
  }
}
