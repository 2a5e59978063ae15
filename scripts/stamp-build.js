// Records when the firmware was built, beside the compiled code in dist/.
// The device takes no sales while its clock reads earlier than this: such a
// clock is certainly wrong (core/firmware-build.ts reads the file).
import { mkdirSync, writeFileSync } from 'node:fs';

const dist = new URL('../dist/', import.meta.url);
mkdirSync(dist, { recursive: true });
writeFileSync(new URL('build.json', dist), `${JSON.stringify({ builtAt: new Date().toISOString() })}\n`);
