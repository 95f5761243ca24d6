import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goJsonObjectError } from './go-json-errors.js';

const check = (text: string) => goJsonObjectError(Buffer.from(text));

void describe("Go's json.Unmarshal errors into map[string]interface{}", () => {
  void it('accepts objects and null', () => {
    assert.equal(check('{"auths":{"r":{"auth":"eA=="}}}'), undefined);
    assert.equal(check(' {} \n'), undefined);
    assert.equal(check('null'), undefined);
  });

  void it('reports syntax errors with the scanner texts', () => {
    assert.equal(check(''), 'unexpected end of JSON input');
    assert.equal(check('{"a":'), 'unexpected end of JSON input');
    assert.equal(check('x'), "invalid character 'x' looking for beginning of value");
    assert.equal(check('{a}'), "invalid character 'a' looking for beginning of object key string");
    assert.equal(check('{"a" 1}'), "invalid character '1' after object key");
    assert.equal(check('{"a":1 "b"}'), 'invalid character \'"\' after object key:value pair');
    assert.equal(check('[1 2]'), "invalid character '2' after array element");
    assert.equal(check('{} x'), "invalid character 'x' after top-level value");
    assert.equal(check('tru'), 'unexpected end of JSON input');
    assert.equal(check('trux'), "invalid character 'x' in literal true (expecting 'e')");
    assert.equal(check('{"a":"\\q"}'), "invalid character 'q' in string escape code");
    assert.equal(check('{"a":"\n"}'), "invalid character '\\n' in string literal");
    assert.equal(check('-a'), "invalid character 'a' in numeric literal");
    assert.equal(check('1.x'), "invalid character 'x' after decimal point in numeric literal");
  });

  void it('reports a value that is not an object', () => {
    assert.equal(check('[]'), 'json: cannot unmarshal array into Go value of type map[string]interface {}');
    assert.equal(check('"s"'), 'json: cannot unmarshal string into Go value of type map[string]interface {}');
    assert.equal(check('1'), 'json: cannot unmarshal number into Go value of type map[string]interface {}');
    assert.equal(check('true'), 'json: cannot unmarshal bool into Go value of type map[string]interface {}');
  });
});
