import type { MqttClient } from 'mqtt';

/**
 * Turns Nagle's algorithm off on the client's connection, now and after
 * every reconnection. mqtt.js writes a packet in more than one piece, and
 * with Nagle on the second piece waits for the broker's delayed ACK: about
 * 40 ms on every QR, payment and receipt.
 */
export function sendWithoutDelay(client: MqttClient): void {
  const apply = (): void => {
    const stream = client.stream as { setNoDelay?: (noDelay: boolean) => unknown } | undefined;
    stream?.setNoDelay?.(true);
  };
  apply();
  client.on('connect', apply);
}
