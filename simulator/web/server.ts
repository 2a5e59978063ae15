import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { describeError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { parsePageCommand, type PageCommand, type ServerMessage } from './protocol.js';

/**
 * What the page server needs from the running simulation: a greeting, the
 * current state for a page that just connected, a stream of changes, and
 * a way to carry out what the page asks.
 */
export interface PageSimulation {
  hello(): ServerMessage;
  snapshot(): ServerMessage[];
  subscribe(send: (message: ServerMessage) => void): () => void;
  /** Carries out one command; resolves with a line for the page, or throws a one-line reason. */
  run(command: PageCommand): Promise<string | undefined>;
}

export interface PageServerOptions {
  simulation: PageSimulation;
  /** 0 picks a free port. */
  port: number;
  log: Logger;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** A page socket that has this much unsent is slow: frames skip it until it drains. */
const SLOW_SOCKET_BYTES = 4 * 1024 * 1024;

/**
 * The simulator page: its static files over HTTP and one WebSocket per open
 * tab, on loopback only. The page is a handful of plain browser modules read
 * from simulator/page/ at start; nothing is built at run time.
 */
export class PageServer {
  private constructor(
    private readonly http: Server,
    private readonly sockets: WebSocketServer,
  ) {}

  static async start(options: PageServerOptions): Promise<PageServer> {
    const files = pageFiles();
    const http = createServer((req, res) => serveFile(files, req, res));
    const sockets = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
    const server = new PageServer(http, sockets);
    http.on('upgrade', (req, socket, head) => {
      if (req.url !== '/ws' || !server.sameOrigin(req)) {
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
        return;
      }
      sockets.handleUpgrade(req, socket, head, (ws) => attach(ws, options));
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port, '127.0.0.1', () => {
        http.off('error', reject);
        resolve();
      });
    });
    return server;
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  /**
   * Only the page itself may open the socket: another site open in the same
   * browser could otherwise drive the simulator through a local port.
   */
  private sameOrigin(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    return origin === undefined || origin === `http://127.0.0.1:${this.port}` || origin === `http://localhost:${this.port}`;
  }

  async stop(): Promise<void> {
    for (const ws of this.sockets.clients) ws.terminate();
    await new Promise<void>((resolve) => this.sockets.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}

function attach(ws: WebSocket, { simulation, log }: PageServerOptions): void {
  const send = (message: ServerMessage): void => {
    if (ws.readyState !== ws.OPEN) return;
    // A tab in the background stops reading; a newer frame will follow.
    if (message.type === 'frame' && ws.bufferedAmount > SLOW_SOCKET_BYTES) return;
    ws.send(JSON.stringify(message));
  };
  send(simulation.hello());
  for (const message of simulation.snapshot()) send(message);
  const unsubscribe = simulation.subscribe(send);
  // Buttons this page holds down: a tab closed or a socket dropped mid-hold
  // must not leave a button pressed on the device for ever.
  const held = new Map<string, Extract<PageCommand, { type: 'button' }>>();
  ws.on('close', () => {
    unsubscribe();
    for (const command of held.values()) {
      simulation.run({ ...command, state: 'up' }).catch((err: unknown) => log.debug({ err }, 'letting go of a held button failed'));
    }
    held.clear();
  });
  ws.on('error', (err) => log.debug({ err }, 'simulator page socket failed'));
  ws.on('message', (data, isBinary) => {
    let command: PageCommand;
    try {
      if (isBinary) throw new Error('message: must be a JSON text frame');
      command = parsePageCommand(rawText(data));
    } catch (err) {
      send({ type: 'error', id: undefined, message: describeError(err) });
      return;
    }
    if (command.type === 'button') {
      const key = `${command.device} ${command.button}`;
      if (command.state === 'down') held.set(key, command);
      else held.delete(key);
    }
    simulation.run(command).then(
      (text) => send({ type: 'done', id: command.id, ...(text ? { text } : {}) }),
      (err: unknown) => send({ type: 'error', id: command.id, message: describeError(err) }),
    );
  });
}

function rawText(data: Buffer | ArrayBuffer | Buffer[]): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

/** The page's files by URL path, read once: a fixed list, so no path from a request reaches the file system. */
function pageFiles(): Map<string, { body: Buffer; type: string }> {
  const dir = pageDir();
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(dir)) {
    const type = CONTENT_TYPES[extname(name)];
    if (type) files.set(`/${name}`, { body: readFileSync(join(dir, name)), type });
  }
  const index = files.get('/index.html');
  if (index) files.set('/', index);
  // The phone reads the QR with jsQR, in the page, from the LCD's pixels.
  // Without it (an install without dev packages) the page still runs and
  // the phone says it cannot read QRs.
  try {
    const jsqr = createRequire(import.meta.url).resolve('jsqr');
    files.set('/vendor/jsQR.js', { body: readFileSync(jsqr), type: CONTENT_TYPES['.js'] ?? '' });
  } catch {
    // Served without it: the phone panel explains.
  }
  return files;
}

/** simulator/page beside this file's source, whether it runs from the source or from dist/. */
function pageDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'simulator', 'page');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    const sibling = join(dir, 'page');
    if (existsSync(join(sibling, 'index.html'))) return sibling;
    dir = dirname(dir);
  }
  throw new Error('the simulator page (simulator/page/index.html) is missing from the installation');
}

function serveFile(files: Map<string, { body: Buffer; type: string }>, req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const file = req.method === 'GET' || req.method === 'HEAD' ? files.get(path) : undefined;
  if (!file) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
    return;
  }
  res.writeHead(200, {
    'content-type': file.type,
    'content-length': file.body.length,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: data:; connect-src 'self'; style-src 'self'",
  });
  res.end(req.method === 'HEAD' ? undefined : file.body);
}
