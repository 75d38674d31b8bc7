import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorBody, type FieldError, Path } from '../field.ts';
import {
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
  isValidPortName,
  isValidPortNum,
  nameIsDNS1035Label,
  validateAnnotations,
  validateLabels,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from './names.ts';

const dns1035Msg =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const dns1123LabelMsg =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const dns1123SubdomainMsg =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const qualifiedNameMsg =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const labelValueMsg =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

const shape = (errs: FieldError[]) => errs.map((e) => ({ type: e.type, field: e.field, body: errorBody(e) }));

describe('apimachinery string validators', () => {
  const cases: { name: string; got: string[]; want: string[] }[] = [
    { name: 'DNS-1035 ok', got: isDNS1035Label('my-svc'), want: [] },
    { name: 'DNS-1035 starts with digit', got: isDNS1035Label('1abc'), want: [dns1035Msg] },
    { name: 'DNS-1035 too long', got: isDNS1035Label('a'.repeat(64)), want: ['must be no more than 63 characters'] },
    {
      name: 'DNS-1035 too long and bad',
      got: isDNS1035Label(`${'a'.repeat(63)}-`),
      want: ['must be no more than 63 characters', dns1035Msg],
    },
    { name: 'DNS-1123 label with dots', got: isDNS1123Label('a.b'), want: ['must not contain dots'] },
    { name: 'DNS-1123 label upper case', got: isDNS1123Label('Http'), want: [dns1123LabelMsg] },
    { name: 'DNS-1123 label may start with digit', got: isDNS1123Label('8080-tcp'), want: [] },
    { name: 'DNS-1123 subdomain ok', got: isDNS1123Subdomain('foo.example.com'), want: [] },
    { name: 'DNS-1123 subdomain underscore', got: isDNS1123Subdomain('foo_bar.com'), want: [dns1123SubdomainMsg] },
    {
      name: 'DNS-1123 subdomain too long',
      got: isDNS1123Subdomain('a'.repeat(254)),
      want: ['must be no more than 253 characters'],
    },
    { name: 'qualified name with prefix', got: isQualifiedName('example.com/MyName'), want: [] },
    { name: 'qualified name bad name part', got: isQualifiedName('-x'), want: [qualifiedNameMsg] },
    { name: 'qualified name empty prefix', got: isQualifiedName('/x'), want: ['prefix part must be non-empty'] },
    {
      name: 'qualified name bad prefix',
      got: isQualifiedName('Ex_ample/x'),
      want: [`prefix part ${dns1123SubdomainMsg}`],
    },
    {
      name: 'qualified name empty name',
      got: isQualifiedName('example.com/'),
      want: ['name part must be non-empty', qualifiedNameMsg],
    },
    {
      name: 'qualified name two slashes',
      got: isQualifiedName('a/b/c'),
      want: [
        "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
      ],
    },
    {
      name: 'qualified name name part too long',
      got: isQualifiedName('a'.repeat(64)),
      want: ['name part must be no more than 63 characters'],
    },
    { name: 'label value empty ok', got: isValidLabelValue(''), want: [] },
    { name: 'label value bad', got: isValidLabelValue('-bad'), want: [labelValueMsg] },
    { name: 'port num 0', got: isValidPortNum(0), want: ['must be between 1 and 65535, inclusive'] },
    { name: 'port num 65536', got: isValidPortNum(65536), want: ['must be between 1 and 65535, inclusive'] },
    { name: 'port num 65535', got: isValidPortNum(65535), want: [] },
    { name: '1.9 port name ok', got: isValidPortName('http-alt'), want: [] },
    {
      name: '1.9 port name too long',
      got: isValidPortName('abcdefghijklmnop'),
      want: ['must be no more than 15 characters'],
    },
    {
      name: '1.9 port name charset',
      got: isValidPortName('a_b'),
      want: ['must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'],
    },
    { name: '1.9 port name no letter', got: isValidPortName('8080'), want: ['must contain at least one letter (a-z)'] },
    {
      name: '1.9 port name several messages',
      got: isValidPortName('-a--'),
      want: ['must not contain consecutive hyphens', 'must not begin or end with a hyphen'],
    },
    {
      name: '1.9 port name empty',
      got: isValidPortName(''),
      want: [
        'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
        'must contain at least one letter (a-z)',
      ],
    },
    { name: 'generateName prefix may end with dash', got: nameIsDNS1035Label('web-', true), want: [] },
    { name: 'generateName prefix still checked', got: nameIsDNS1035Label('1web-', true), want: [dns1035Msg] },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(c.got, c.want));
});

describe('labels and annotations', () => {
  it('label key and value errors sit on the map path', () => {
    assert.deepEqual(shape(validateLabels({ '-k': 'v', ok: '-v' }, Path.of('metadata', 'labels'))), [
      { type: 'FieldValueInvalid', field: 'metadata.labels', body: `Invalid value: "-k": ${qualifiedNameMsg}` },
      { type: 'FieldValueInvalid', field: 'metadata.labels', body: `Invalid value: "-v": ${labelValueMsg}` },
    ]);
  });
  it('annotation keys are checked lower-cased and the total size is capped', () => {
    assert.deepEqual(validateAnnotations({ 'Example.COM/Key': 'v' }, Path.of('metadata', 'annotations')), []);
    assert.deepEqual(shape(validateAnnotations({ big: 'x'.repeat(262142) }, Path.of('metadata', 'annotations'))), [
      { type: 'FieldValueTooLong', field: 'metadata.annotations', body: 'Too long: may not be more than 262144 bytes' },
    ]);
    assert.deepEqual(validateAnnotations({ big: 'x'.repeat(262141) }, Path.of('metadata', 'annotations')), []);
  });
});

describe('object meta', () => {
  const opts = { namespaced: true, nameFn: nameIsDNS1035Label };
  const meta = Path.root('metadata');
  it('1.2 name or generateName is required, and the namespace', () => {
    assert.deepEqual(shape(validateObjectMeta({}, opts, meta)), [
      { type: 'FieldValueRequired', field: 'metadata.name', body: 'Required value: name or generateName is required' },
      { type: 'FieldValueRequired', field: 'metadata.namespace', body: 'Required value' },
    ]);
  });
  it('1.2 generateName is checked as a prefix', () => {
    assert.deepEqual(
      shape(validateObjectMeta({ generateName: 'Web-', name: 'web-abcde', namespace: 'd' }, opts, meta)),
      [{ type: 'FieldValueInvalid', field: 'metadata.generateName', body: `Invalid value: "Web-": ${dns1035Msg}` }],
    );
  });
  it('cluster-scoped kinds forbid a namespace', () => {
    assert.deepEqual(shape(validateObjectMeta({ name: 'n', namespace: 'd' }, { ...opts, namespaced: false }, meta)), [
      { type: 'FieldValueForbidden', field: 'metadata.namespace', body: 'Forbidden: not allowed on this type' },
    ]);
  });
  it('bad namespace name', () => {
    assert.deepEqual(shape(validateObjectMeta({ name: 'n', namespace: 'a.b' }, opts, meta)), [
      { type: 'FieldValueInvalid', field: 'metadata.namespace', body: 'Invalid value: "a.b": must not contain dots' },
    ]);
  });
  it('1.39 update: identity fields are immutable, resourceVersion is required', () => {
    const old = {
      name: 'a',
      namespace: 'd',
      uid: 'u1',
      resourceVersion: '5',
      creationTimestamp: '2024-01-01T00:00:00Z',
    };
    assert.deepEqual(validateObjectMetaUpdate({ ...old }, old, meta), []);
    assert.deepEqual(
      shape(validateObjectMetaUpdate({ ...old, name: 'b', uid: 'u2', resourceVersion: '' }, old, meta)),
      [
        {
          type: 'FieldValueInvalid',
          field: 'metadata.resourceVersion',
          body: 'Invalid value: "": must be specified for an update',
        },
        { type: 'FieldValueInvalid', field: 'metadata.name', body: 'Invalid value: "b": field is immutable' },
        { type: 'FieldValueInvalid', field: 'metadata.uid', body: 'Invalid value: "u2": field is immutable' },
      ],
    );
    const { creationTimestamp: _drop, ...noTimestamp } = old;
    assert.deepEqual(shape(validateObjectMetaUpdate(noTimestamp, old, meta)), [
      {
        type: 'FieldValueInvalid',
        field: 'metadata.creationTimestamp',
        body: 'Invalid value: null: field is immutable',
      },
    ]);
  });
});
