/**
 * One notifier instance of the stand-in payments backend as a process of its
 * own, as a fleet's backend runs several (docs/fleet.md): on the central
 * broker, in the shared subscription group `notifier`, with the confirmations
 * waiting for a receipt in a SQLite file every instance opens. The bank's
 * callbacks ("this QR was paid") come from the parent process over IPC; one
 * is answered only once the confirmation is in the shared store and the
 * broker has it, so a bank that gets no answer calls another instance.
 *
 *   node dist/simulator/notifier-instance.js '<NotifierInstanceConfig as JSON>'
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PaymentsBackend, type AdoptionPolicy, type RepublishPolicy } from './backend.js';
import { SqlitePendingStore } from './pending-store.js';

export interface NotifierInstanceConfig {
  url: string;
  clientId: string;
  /** Paths of the CA that checks the broker, and this instance's certificate and key. */
  tls: { ca: string; cert: string; key: string };
  /** The notifier's Ed25519 private key, PEM. */
  privateKeyPem: string;
  storePath: string;
  /** Device id → circle. */
  circles: Record<string, string>;
  republish: RepublishPolicy;
  adopt: AdoptionPolicy;
}

/** The bank's callback: this QR was paid. */
export interface BankCallback {
  id: number;
  deviceId: string;
  tr: string;
  amount: string;
  utr: string;
}

/** What the instance tells its parent. */
export type InstanceReport =
  | { kind: 'ready' }
  | { kind: 'paid'; id: number }
  | { kind: 'failed'; id: number; error: string }
  /** A confirmation published again for want of a receipt (by this instance, or adopted from one that stopped). */
  | { kind: 'republish'; deviceId: string; utr: string; attempt: number };

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as NotifierInstanceConfig;
  const store = new SqlitePendingStore(config.storePath);
  const backend = new PaymentsBackend({
    url: config.url,
    clientId: config.clientId,
    protocolVersion: 5,
    share: 'notifier',
    circleOf: (deviceId) => {
      const circle = config.circles[deviceId];
      if (circle === undefined) throw new Error(`no circle known for device ${deviceId}`);
      return circle;
    },
    tls: { ca: readFileSync(config.tls.ca), cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) },
    keys: { privateKey: createPrivateKey(config.privateKeyPem), publicKeyBase64: '' },
    republish: config.republish,
    store,
    adopt: config.adopt,
  });
  const report = (message: InstanceReport) => process.send?.(message);
  backend.on('republish', ({ deviceId, utr, attempt }) => report({ kind: 'republish', deviceId, utr, attempt }));
  await backend.start();
  process.on('message', (callback: BankCallback) => {
    backend
      .pay(callback.deviceId, callback.tr, { amount: callback.amount, utr: callback.utr })
      .then(() => report({ kind: 'paid', id: callback.id }))
      .catch((err: unknown) => report({ kind: 'failed', id: callback.id, error: String(err) }));
  });
  // A parent that is gone can no longer call back or stop it.
  process.once('disconnect', () => process.exit(0));
  process.once('SIGTERM', () => {
    void backend.stop().then(() => {
      store.close();
      process.exit(0);
    });
  });
  report({ kind: 'ready' });
}

main().catch((err: unknown) => {
  console.error(`notifier instance: ${String(err)}`);
  process.exit(1);
});
