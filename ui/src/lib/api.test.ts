import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DashboardSocket, SOCKET_BEHIND } from './api';

/** A WebSocket the test opens and drops by hand. */
class FakeSocket {
  static OPEN = 1;
  static made: FakeSocket[] = [];
  readyState = 0;
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onclose: ((ev: { code: number }) => void) | null = null;
  onmessage: ((ev: { data: string }) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.made.push(this);
  }
  send(data: string) {
    this.sent.push(data);
  }
  close() {}
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  drop(code: number) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
}

describe('DashboardSocket', () => {
  beforeEach(() => {
    FakeSocket.made = [];
    vi.useFakeTimers();
    vi.stubGlobal('WebSocket', FakeSocket);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('says why it reconnected, once subscribed again, and never for its first connection', () => {
    const s = new DashboardSocket('ws://cairn.test/ws/dashboard');
    const reasons: string[] = [];
    s.onReconnect((why) => reasons.push(why));
    s.subscribe('node-1');
    s.start();
    FakeSocket.made[0].open();
    expect(reasons).toEqual([]);

    // The control plane closes it as too far behind; the first attempt after fails.
    FakeSocket.made[0].drop(SOCKET_BEHIND);
    vi.advanceTimersByTime(500);
    FakeSocket.made[1].drop(1006);
    vi.advanceTimersByTime(1000);
    FakeSocket.made[2].open();
    expect(reasons).toEqual(['behind']);
    expect(FakeSocket.made[2].sent).toContain(
      JSON.stringify({ type: 'SUBSCRIBE', nodeId: 'node-1' }),
    );

    // Lost for another reason.
    FakeSocket.made[2].drop(1006);
    vi.advanceTimersByTime(500);
    FakeSocket.made[3].open();
    expect(reasons).toEqual(['behind', 'lost']);
    s.stop();
  });
});
