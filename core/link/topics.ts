import type { RemoteSettings } from '../config.js';

/**
 * The device's MQTT API, one entry per topic below `{prefix}/{deviceId}/`.
 * docs/contracts.md is the contract; these types are its checked form.
 */
export interface DeviceTopics {
  /** backend → device: show a QR for this sale. */
  collect: { v: 1; id: string; amount: string; note?: string; ref?: string; expiresIn?: number };
  /** device → backend: a QR is on screen. */
  qr: { v: 1; tr: string; amount: string; uri: string; shownAt: string; expiresAt: string; source: string };
  /** backend → device: a signed confirmation (see confirmation.ts). */
  payment: { v: 1; deviceId: string; tr: string; utr: string; amount: string; status: 'SUCCESS' | 'FAILED'; payer?: string; paidAt: string; sig: string };
  /** device → backend: what became of a confirmation. */
  receipt: { v: 1; tr: string | null; utr: string | null; outcome: 'announced' | 'duplicate' | 'rejected'; reason?: string; at: string };
  /** device → backend, retained, also the last will. */
  status: { online: boolean; fw: string; bootAt: string };
  /** device → backend, QoS 0, retained (the latest report stays readable): periodic health. */
  telemetry: Telemetry;
  /** backend → device: desired settings. */
  'config/set': RemoteSettings;
  /** device → backend: the settings in force, or why a change was refused. */
  'config/state': { v: 1; settings: Required<RemoteSettings>; error?: string; at: string };
}

export interface Telemetry {
  v: 1;
  at: string;
  uptimeSeconds: number;
  memory: { rssBytes: number; heapUsedBytes: number; systemFreeBytes: number };
  storageFreeBytes: number | null;
  /** Announcements waiting to be spoken plus messages owed to the backend. */
  queueDepth: { announcements: number; outbox: number };
  lastSale: { tr: string; amount: string; state: string } | null;
  today: { count: number; total: string };
  volume: number;
  language: string;
  link: { state: string; reconnects: number };
  rejected: { confirmations: number; collects: number; lastReason: string | null };
  /** Payments whose announcement was given up at boot since start: speaking began too often without its end being recorded. */
  announcements: { givenUp: number };
}

export type DeviceTopic = keyof DeviceTopics;

export const INBOUND_TOPICS = ['collect', 'payment', 'config/set'] as const satisfies readonly DeviceTopic[];
export type InboundTopic = (typeof INBOUND_TOPICS)[number];

/** How the device publishes each topic that is not inbound, as the contract's topic table says. */
export const OUTBOUND_DELIVERY = {
  qr: { qos: 1, retain: false },
  receipt: { qos: 1, retain: false },
  status: { qos: 1, retain: true },
  telemetry: { qos: 0, retain: true },
  'config/state': { qos: 1, retain: false },
} as const satisfies Record<Exclude<DeviceTopic, InboundTopic>, { qos: 0 | 1; retain: boolean }>;
export type OutboundTopic = keyof typeof OUTBOUND_DELIVERY;

export function isOutboundTopic(topic: string): topic is OutboundTopic {
  return Object.hasOwn(OUTBOUND_DELIVERY, topic);
}

/**
 * A message for the ledger's outbox, serialized from the type its topic
 * has: what is queued is what the topic map allows, and the outbox later
 * sends these bytes unchanged.
 */
export function queuedMessage<T extends OutboundTopic>(topic: T, payload: DeviceTopics[T]): { topic: T; payload: string } {
  return { topic, payload: JSON.stringify(payload) };
}

export function deviceTopic(prefix: string, deviceId: string, topic: DeviceTopic): string {
  return `${prefix}/${deviceId}/${topic}`;
}

/**
 * The device and the topic name of a topic under `prefix` (deviceTopic's
 * inverse), as a backend reads what devices publish; undefined for a topic
 * outside the prefix or without both parts. The name is not checked
 * against the topic map: the caller decides what it listens to.
 */
export function readDeviceTopic(prefix: string, topic: string): { deviceId: string; name: string } | undefined {
  if (topic.length <= prefix.length + 1 || topic.charCodeAt(prefix.length) !== 0x2f || !topic.startsWith(prefix)) return undefined;
  const slash = topic.indexOf('/', prefix.length + 1);
  if (slash <= prefix.length + 1 || slash === topic.length - 1) return undefined;
  return { deviceId: topic.slice(prefix.length + 1, slash), name: topic.slice(slash + 1) };
}
