/**
 * deploy/emqx/acl.conf is the EMQX counterpart of the mosquitto ACL files in
 * deploy/mosquitto/. EMQX is not run here, so this is a check of the two
 * files' text, not of a broker: every mosquitto rule has an EMQX rule with
 * the same operation on the same topic for the same login, the EMQX file
 * allows nothing the mosquitto files do not, and it ends by refusing
 * everything else. Whether EMQX reads the file as written is not proven.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const deploy = (path: string) => readFileSync(new URL(`../deploy/${path}`, import.meta.url), 'utf8');
const MOSQUITTO_ACLS = ['dakbox.acl', 'dakbox-backend.acl', 'central.acl', 'central-backend.acl'];

/** One rule: who (`own` = the client's own username stands in the topic), what, on which topic. */
interface Rule {
  who: string;
  action: 'publish' | 'subscribe';
  topic: string;
}

const key = (r: Rule) => `${r.who} ${r.action} ${r.topic}`;

/** mosquitto's acl_file: `user`, `topic read|write`, `pattern read|write` with %u. */
function mosquittoRules(text: string, file: string): Rule[] {
  const rules: Rule[] = [];
  let user: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [word, access, topic, ...rest] = line.split(/\s+/);
    if (word === 'user' && access && !topic) {
      user = access;
      continue;
    }
    if ((word !== 'topic' && word !== 'pattern') || (access !== 'read' && access !== 'write') || !topic || rest.length) throw new Error(`${file}: a line this check does not read: ${line}`);
    const action = access === 'read' ? 'subscribe' : 'publish';
    if (word === 'pattern') rules.push({ who: 'own', action, topic: topic.replace(/%u/g, '${username}') });
    else if (user) rules.push({ who: `user ${user}`, action, topic });
    else throw new Error(`${file}: a topic rule for nobody: ${line}`);
  }
  return rules;
}

/** EMQX's acl.conf: `{allow, Who, publish|subscribe, ["topic", ...]}.` rules and `{deny, all}.` */
function emqxRules(text: string): { allow: Rule[]; last: string } {
  const body = text
    .split('\n')
    .filter((l) => !l.trim().startsWith('%%'))
    .join('\n');
  const terms = body
    .split(/\}\.\s*/)
    .map((t) => t.trim())
    .filter(Boolean)
    .map((t) => `${t}}.`);
  const allow: Rule[] = [];
  for (const term of terms) {
    if (term === '{deny, all}.') continue;
    const m = /^\{allow, (.+), (publish|subscribe), \[(.+)\]\}\.$/s.exec(term);
    if (!m) throw new Error(`acl.conf: a rule this check does not read: ${term}`);
    const [, who = '', action, topics = ''] = m;
    const user = /\{username, "([^"]+)"\}/.exec(who)?.[1];
    for (const topic of topics.split(',').map((t) => JSON.parse(t.trim()) as string)) {
      // A rule for all clients, or for a kind of login, binds the topic to the client's own username.
      const own = topic.includes('${username}');
      allow.push({ who: user ? `user ${user}` : own ? 'own' : `unbound ${who}`, action: action as Rule['action'], topic });
    }
  }
  return { allow, last: terms.at(-1) ?? '' };
}

describe('the EMQX ACL', () => {
  const emqx = emqxRules(deploy('emqx/acl.conf'));
  const mosquitto = MOSQUITTO_ACLS.flatMap((file) => mosquittoRules(deploy(`mosquitto/${file}`), file));

  it('has a counterpart for every rule of the mosquitto ACLs', () => {
    expect(mosquitto.length).toBeGreaterThan(30);
    const have = new Set(emqx.allow.map(key));
    expect(mosquitto.map(key).filter((k) => !have.has(k))).toEqual([]);
  });

  it('allows nothing the mosquitto ACLs do not, and refuses the rest', () => {
    const have = new Set(mosquitto.map(key));
    expect(emqx.allow.map(key).filter((k) => !have.has(k))).toEqual([]);
    expect(emqx.last).toBe('{deny, all}.');
  });

  it('gives the backend and the bridges their rights only from their own networks', () => {
    const text = deploy('emqx/acl.conf');
    for (const line of text.split('\n').filter((l) => l.startsWith('{allow') && !l.startsWith('{allow, all,'))) {
      expect(line, line).toMatch(/^\{allow, \{'and', \[\{username, .+?\}, \{ipaddr, "[0-9./]+"\}\]\}, /);
    }
  });
});
