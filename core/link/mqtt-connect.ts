import { createConnection, isIP } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

/**
 * Connects an mqtt.js client the way `mqtt.connect(url, options)` does.
 *
 * mqtt.connect loads every transport it has on its first call, whatever the
 * URL: the WebSocket one (ws, and with it node's HTTP, HTTPS, TLS, zlib and
 * querystring modules) and the SOCKS proxy (socks, ip-address, node's DNS),
 * 36 modules and about 1 MB of JavaScript heap at every start of a device
 * that talks plain MQTT or MQTT over TLS. For an mqtt:// or mqtts:// URL
 * this builds the client over node's own socket with what mqtt.js's TCP and
 * TLS transports do (lib/connect/tcp.js and tls.js in mqtt 5.16); any other
 * URL, one carrying credentials or a query, or a SOCKS proxy in
 * MQTTJS_SOCKS_PROXY is handed to mqtt.connect as before.
 */
export function connectMqtt(url: string, options: IClientOptions): MqttClient {
  const target = socketTarget(url, options);
  if (!target) return mqtt.connect(url, options);
  const { host, port, secure } = target;
  const client = new mqtt.MqttClient((c) => (secure ? tlsStream(c, host, port, options) : createConnection({ host, port })), {
    ...options,
    protocol: secure ? 'mqtts' : 'mqtt',
    host,
    hostname: host,
    port,
  });
  // As mqtt.connect does: an error with no other listener does not throw.
  client.on('error', () => {});
  return client;
}

function socketTarget(url: string, options: IClientOptions): { host: string; port: number; secure: boolean } | undefined {
  if (process.env.MQTTJS_SOCKS_PROXY !== undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'mqtt:' && parsed.protocol !== 'mqtts:') return undefined;
  if (parsed.username !== '' || parsed.password !== '' || parsed.search !== '' || parsed.hostname === '') return undefined;
  // mqtt.js turns mqtt:// into mqtts:// when a client certificate and key are given.
  const secure = parsed.protocol === 'mqtts:' || (options.cert !== undefined && options.key !== undefined);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = parsed.port === '' ? (secure ? 8883 : 1883) : Number(parsed.port);
  return { host, port, secure };
}

/** mqtt.js's TLS transport: the server's name checked unless rejectUnauthorized is false, SNI for a host name. */
function tlsStream(client: MqttClient, host: string, port: number, options: IClientOptions): TLSSocket {
  const rejectUnauthorized = options.rejectUnauthorized !== false;
  const tlsOptions: ConnectionOptions = {
    ...(options as ConnectionOptions),
    host,
    port,
    rejectUnauthorized,
    ...(isIP(host) === 0 && options.servername === undefined ? { servername: host } : {}),
  };
  const connection = tlsConnect(tlsOptions);
  const onError = (err: Error): void => {
    if (rejectUnauthorized) client.emit('error', err);
    connection.end();
  };
  connection.on('secureConnect', () => {
    if (rejectUnauthorized && !connection.authorized) connection.emit('error', new Error('TLS not authorized'));
    else connection.removeListener('error', onError);
  });
  connection.on('error', onError);
  return connection;
}
