// CIDR blocks that bind a credential to the addresses it may be used from (Vault's bound_cidrs, secret_id_bound_cidrs,
// token_bound_cidrs): a copied credential is useless from anywhere else.
import { BlockList, isIP } from 'node:net';
import { badRequest } from './vault-error.js';

export function parseCidr(cidr: string, field: string): { address: string; prefix: number; type: 'ipv4' | 'ipv6' } {
  const [address = '', bits] = cidr.split('/');
  const family = isIP(address);
  const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
  if (family === 0 || !/^\d{1,3}$/.test(bits ?? '0') || prefix < 0 || prefix > (family === 6 ? 128 : 32)) {
    throw badRequest(`invalid value ${JSON.stringify(cidr)} in field "${field}": want an IP address or CIDR block`);
  }
  return { address, prefix, type: family === 6 ? 'ipv6' : 'ipv4' };
}

/** Whether a peer address (IPv4-mapped IPv6 included, as Node reports it on a dual-stack socket) is in any block. */
export function inCidrs(remote: string, cidrs: readonly string[]): boolean {
  const list = new BlockList();
  for (const c of cidrs) {
    const { address, prefix, type } = parseCidr(c, 'cidr');
    list.addSubnet(address, prefix, type);
  }
  const addr = remote.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  const family = isIP(addr);
  return family !== 0 && list.check(addr, family === 6 ? 'ipv6' : 'ipv4');
}
