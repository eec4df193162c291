// Writes a .gz beside each text asset of the build, so the server sends compressed files
// without compressing on every request.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const root = new URL('../dist/', import.meta.url).pathname;
const compressible = /\.(js|css|html|svg|json|txt|map)$/;

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (compressible.test(name)) {
      const data = readFileSync(path);
      const gz = gzipSync(data, { level: 9 });
      if (gz.length < data.length) writeFileSync(`${path}.gz`, gz);
    }
  }
}
walk(root);
