// ram: a dump of the API server process's memory, taken after a restart and one client listing every Secret (what
// controllers do all day), plus the stored bytes the process can read. Canaries in clear anywhere in the dump count
// as "plaintext in memory"; key candidates found in the dump (base64 text, HMAC key blocks, protobuf fields,
// high-entropy windows) that open stored values count as "key material found" - the judge reports the two apart.
import { readFile } from 'node:fs/promises';
import type { Attack } from '../attack.js';
import { findKeyCandidatesInDump } from '../key-candidates.js';
import { emptyLoot } from '../loot.js';
import { locate } from '../memory-dump.js';

export const ramAttack: Attack = {
  id: 'ram',
  requires: ['ram'],
  async run(target) {
    const loot = emptyLoot();
    const ram = target.ram;
    if (!ram) return { ...loot, notApplicable: 'no API server process' };
    const bytes = await readFile(ram.dump.file);
    const dump = ram.dump;
    loot.blobs.push({ label: `ram: coffer up pid ${dump.pid} (${dump.regions.length} writable regions)`, bytes, locate: (o) => locate(dump, o) });
    const keys = findKeyCandidatesInDump(dump, bytes, { entropyWindows: true });
    loot.keys.push(...keys);
    loot.values.push(...ram.values);
    loot.notes.push(`dump of ${(bytes.length / (1 << 20)).toFixed(0)} MiB via ${dump.method}; ${keys.length} key candidate(s); ${ram.values.length} stored value(s) readable by the process`);
    return loot;
  },
};
