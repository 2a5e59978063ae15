import { afterEach, describe, expect, it } from 'vitest';
import { LinkPrompts } from '../../device/features/link-prompts.js';
import { coreParts, type CoreParts } from '../support/core-parts.js';

let parts: CoreParts;

afterEach(async () => {
  await parts.close();
});

function started(prompts = true): LinkPrompts {
  parts = coreParts({ announce: { prompts } });
  const { link, announcer, settings, clock, log } = parts;
  const feature = new LinkPrompts({ link, announcer, settings, clock, log });
  feature.start();
  return feature;
}

async function said(): Promise<string[]> {
  await parts.announcer.idle();
  return parts.speaker.said;
}

describe('the link prompts', () => {
  it('say connected the first time the device is online, and only then', async () => {
    started();
    parts.link.goTo('connecting');
    expect(await said()).toEqual([]);
    parts.link.goTo('online');
    expect(await said()).toEqual(['Connected to the payment service']);
    parts.link.goTo('offline');
    parts.link.goTo('online');
    expect(await said()).toEqual(['Connected to the payment service']);
  });

  it('say nothing about a blip shorter than five seconds', async () => {
    started();
    parts.link.goTo('online');
    parts.link.goTo('offline');
    parts.clock.advance(4_999);
    parts.link.goTo('connecting');
    parts.link.goTo('online');
    parts.clock.advance(60_000);
    expect(await said()).toEqual(['Connected to the payment service']);
  });

  it('say the network is lost after five seconds offline, and restored when it is back', async () => {
    started();
    parts.link.goTo('online');
    parts.link.goTo('offline');
    parts.clock.advance(4_000);
    expect(await said()).toEqual(['Connected to the payment service']);
    parts.clock.advance(1_000);
    expect((await said()).at(-1)).toBe('Network connection lost');
    // Reconnect attempts that fail say nothing more.
    parts.link.goTo('connecting');
    parts.link.goTo('offline');
    parts.clock.advance(60_000);
    expect(await said()).toHaveLength(2);
    parts.link.goTo('connecting');
    parts.link.goTo('online');
    expect(await said()).toEqual(['Connected to the payment service', 'Network connection lost', 'Network connection restored']);
  });

  it('stay silent when the prompts are switched off', async () => {
    started(false);
    parts.link.goTo('online');
    parts.link.goTo('offline');
    parts.clock.advance(60_000);
    parts.link.goTo('online');
    expect(await said()).toEqual([]);
  });

  it('stop listening, and say nothing of a loss already being timed, once stopped', async () => {
    const feature = started();
    parts.link.goTo('online');
    await said();
    parts.link.goTo('offline');
    expect(parts.clock.pending()).toBe(1);
    feature.stop();
    expect(parts.clock.pending()).toBe(0);
    parts.clock.advance(60_000);
    parts.link.goTo('online');
    parts.link.goTo('offline');
    parts.clock.advance(60_000);
    expect(await said()).toEqual(['Connected to the payment service']);
    expect(parts.link.listenerCount('state')).toBe(0);
  });
});
