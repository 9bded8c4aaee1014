import { inspect, format } from 'util';
import { B2Client, SecretString } from '../../../infra/b2';

const SECRET = 'K005sUperSecretApplicationKeyValue0';

describe('SecretString', () => {
  const s = new SecretString(SECRET);
  it('never prints the value', () => {
    expect(String(s)).toBe('**redacted**');
    expect(`${s}`).toBe('**redacted**');
    expect('' + s).toBe('**redacted**');
    expect(JSON.stringify({ s })).toBe('{"s":"**redacted**"}');
    expect(inspect(s)).toBe('**redacted**');
    expect(inspect({ nested: { s } }, { depth: 5 })).not.toContain(SECRET);
    expect(format('%s %o %O %j', s, s, s, s)).not.toContain(SECRET);
  });
  it('reveal() returns it; from() does not double-wrap', () => {
    expect(s.reveal()).toBe(SECRET);
    expect(SecretString.from(s)).toBe(s);
    expect(SecretString.from('x').reveal()).toBe('x');
  });
});

describe('B2Client holds its key only as a SecretString', () => {
  it('inspect / JSON of a client does not reveal the key', () => {
    const c = new B2Client({
      applicationKeyId: 'kid',
      applicationKey: SECRET,
      realmUrl: 'http://127.0.0.1:9',
    });
    expect(inspect(c, { depth: 10, showHidden: true })).not.toContain(SECRET);
    expect(JSON.stringify(c)).not.toContain(SECRET);
  });

  it('constructor and fromEnv errors name the missing field / variable', () => {
    expect(() => new B2Client({ applicationKeyId: '', applicationKey: 'x' })).toThrow(/\[applicationKeyId\]/);
    expect(() => new B2Client({ applicationKeyId: 'k', applicationKey: '' })).toThrow(/\[applicationKey\]/);
    expect(() => new B2Client({ applicationKeyId: 'k', applicationKey: 'x', realmUrl: 'ftp://x' })).toThrow(
      /\[realmUrl\]/,
    );
    expect(() => B2Client.fromEnv({ B2_APPLICATION_KEY: SECRET })).toThrow(/B2_APPLICATION_KEY_ID/);
    expect(() => B2Client.fromEnv({ B2_APPLICATION_KEY_ID: 'k' })).toThrow(/set B2_APPLICATION_KEY in/);
    try {
      B2Client.fromEnv({ B2_APPLICATION_KEY: SECRET });
    } catch (e) {
      expect(String(e)).not.toContain(SECRET);
    }
  });

  it('realm: option, then B2_REALM_URL, then the public default', () => {
    expect(B2Client.fromEnv({ B2_APPLICATION_KEY_ID: 'k', B2_APPLICATION_KEY: 's' }).realmUrl).toBe(
      'https://api.backblazeb2.com',
    );
    expect(
      B2Client.fromEnv({
        B2_APPLICATION_KEY_ID: 'k',
        B2_APPLICATION_KEY: 's',
        B2_REALM_URL: 'http://127.0.0.1:1234/',
      }).realmUrl,
    ).toBe('http://127.0.0.1:1234');
  });
});
