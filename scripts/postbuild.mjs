// Makes the compiled CLI executable (tsc writes files without the execute bit).
import { chmodSync } from 'node:fs';
import { join } from 'node:path';

chmodSync(join(import.meta.dirname, '..', 'dist', 'src', 'cli', 'main.js'), 0o755);
