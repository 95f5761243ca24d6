import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONFIG_MAP_STRATEGY } from './config-map-strategy.js';
import { parseFieldSelector } from './field-selector.js';
import { SelectorParseError } from './label-selector.js';
import { NAMESPACE_STRATEGY } from './namespace-strategy.js';
import { SECRET_STRATEGY } from './secret-strategy.js';

const secrets = (s: string) => parseFieldSelector(s, (f) => SECRET_STRATEGY.fieldLabelError(f));

function fails(parse: () => unknown, message: string): void {
  assert.throws(parse, (err: unknown) => err instanceof SelectorParseError && err.message === message, message);
}

void describe('field selectors', () => {
  void it('parses =, == and != terms, ANDed, with escapes', () => {
    const s = secrets('type=kubernetes.io/tls,metadata.name!=b,metadata.namespace==ns');
    const fields = { 'metadata.name': 'a', 'metadata.namespace': 'ns', type: 'kubernetes.io/tls' };
    assert.equal(s.matches(fields), true);
    assert.equal(s.matches({ ...fields, 'metadata.name': 'b' }), false);
    assert.equal(s.exactValue('metadata.namespace'), 'ns');
    assert.equal(s.exactValue('metadata.name'), undefined, 'a != term is not an exact value');
    assert.equal(secrets('metadata.name=a\\,b\\=c\\\\').exactValue('metadata.name'), 'a,b=c\\');
    assert.equal(secrets('').empty, true);
  });

  void it('refuses terms it cannot read, and bad escapes', () => {
    fails(() => secrets('type'), "invalid selector: 'type'; can't understand 'type'");
    fails(() => secrets('metadata.name=a\\x'), 'invalid field selector: invalid escape sequence: \\x');
    fails(() => secrets('metadata.name=a\\'), 'invalid field selector: invalid escape sequence: \\');
    fails(() => secrets('metadata.name=a=b'), 'invalid field selector: unescaped character in value: 61');
  });

  void it('names unsupported fields as each kind does', () => {
    fails(() => secrets('foo=bar'), 'field label not supported: foo');
    fails(() => parseFieldSelector('type=x', (f) => CONFIG_MAP_STRATEGY.fieldLabelError(f)), '"type" is not a known field selector: only "metadata.name", "metadata.namespace"');
    fails(() => parseFieldSelector('metadata.namespace=x', (f) => NAMESPACE_STRATEGY.fieldLabelError(f)), 'field label not supported: metadata.namespace');
    assert.equal(parseFieldSelector('status.phase=Active', (f) => NAMESPACE_STRATEGY.fieldLabelError(f)).empty, false);
  });
});
