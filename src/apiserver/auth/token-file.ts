// kube-apiserver's --token-auth-file: CSV lines `token,user,uid[,"group1,group2"]`; blank lines and lines starting
// with # are skipped. Errors name the line, never the token.
import { readFile } from 'node:fs/promises';
import { InvalidError } from '../../lib/errors.js';

export interface TokenUser {
  name: string;
  uid: string;
  groups: string[];
}

/** Splits one CSV record, honouring double quotes (a group list is quoted because it holds commas). */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted && c === '"' && line[i + 1] === '"') {
      field += '"';
      i++;
    } else if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}

export function parseTokenFile(text: string, source = 'token file'): Map<string, TokenUser> {
  const tokens = new Map<string, TokenUser>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [token, name, uid, groups] = csvFields(line);
    if (!token || !name || uid === undefined) {
      throw new InvalidError(`${source} line ${i + 1}: want token,user,uid[,"groups"]`);
    }
    if (tokens.has(token)) throw new InvalidError(`${source} line ${i + 1}: duplicate token`);
    tokens.set(token, { name, uid, groups: groups ? groups.split(',').map((g) => g.trim()).filter(Boolean) : [] });
  });
  return tokens;
}

export async function readTokenFile(path: string): Promise<Map<string, TokenUser>> {
  return parseTokenFile(await readFile(path, 'utf8'), path);
}
