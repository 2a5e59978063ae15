import { describe, expect, it } from 'vitest';
import { deviceTopic, readDeviceTopic } from '../core/link/topics.js';

describe('readDeviceTopic', () => {
  it('reads back what deviceTopic builds', () => {
    for (const name of ['qr', 'receipt', 'status', 'telemetry', 'config/state'] as const) {
      expect(readDeviceTopic('dakbox/v1', deviceTopic('dakbox/v1', 'MYS-0042', name))).toEqual({ deviceId: 'MYS-0042', name });
    }
  });

  it('refuses a topic outside the prefix or without a device and a name', () => {
    for (const topic of ['other/v1/MYS-0042/qr', 'dakbox/v10/MYS-0042/qr', 'dakbox/v1', 'dakbox/v1/', 'dakbox/v1/MYS-0042', 'dakbox/v1/MYS-0042/', 'dakbox/v1//qr', 'dakbox/v1MYS/qr']) {
      expect(readDeviceTopic('dakbox/v1', topic), topic).toBeUndefined();
    }
  });
});
