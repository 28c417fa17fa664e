// The web page in real Chromium (Debian's chromium driven by playwright-core) against a real
// cluster started with `patchwork up` (nats-server, kernel node, gateway): open a photo, paint the
// mask with mouse drags, start, watch live previews, compare, download the result; survive a
// network drop; fit a phone-sized screen. Screenshots go to artifacts/browser/ (gitignored).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { repoRoot, startUp, type UpCluster } from '../support/up-cluster.ts';

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];
const PHOTO = join(repoRoot, 'examples/t009.jpg'); // 448×320, a man with a model glider
const ARTIFACTS = join(repoRoot, 'artifacts/browser');

let up: UpCluster;
let proxy: TcpProxy;
let browser: Browser;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  up = await startUp(['--kernels', '1']);
  proxy = await startTcpProxy(Number(new URL(up.url).port));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
});

after(async () => {
  await browser?.close();
  await proxy?.close();
  await up?.dispose();
});

async function shot(t: TestContext, page: Page, name: string): Promise<void> {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path });
  t.diagnostic(`screenshot: ${path}`);
}

/** Fails the test on any script error or console error in the page. */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return errors;
}

async function openPhoto(page: Page, base: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.waitForSelector('#conn[data-state=online]');
  await page.setInputFiles('#file-input', PHOTO);
  await page.waitForSelector('body[data-mode=editing]');
}

/** Paints over the man (image x 246–401, y 83–316) with vertical mouse drags. */
async function paintTheMan(page: Page): Promise<void> {
  await page.evaluate(() => {
    const s = document.querySelector<HTMLInputElement>('#brush-size')!;
    s.value = '40';
    s.dispatchEvent(new Event('input'));
  });
  const box = (await page.locator('#overlay').boundingBox())!;
  const at = (x: number, y: number): [number, number] => [box.x + (x / 448) * box.width, box.y + (y / 320) * box.height];
  for (let x = 252; x <= 400; x += 12) {
    await page.mouse.move(...at(x, 80));
    await page.mouse.down();
    for (let y = 80; y <= 318; y += 20) await page.mouse.move(...at(x, y), { steps: 2 });
    await page.mouse.up();
  }
}

async function previews(page: Page): Promise<number> {
  return Number(await page.getAttribute('#photo', 'data-previews'));
}

test('desktop: open a photo, paint the mask, watch it fill live, compare, download', { timeout: 300_000 }, async (t) => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const errors = watchErrors(page);
  try {
    await openPhoto(page, up.url);
    assert.equal(await page.isDisabled('#start'), true, 'nothing to remove yet');
    await paintTheMan(page);
    assert.equal(await page.isEnabled('#start'), true);
    // Undo and redo the last stroke.
    await page.click('#undo');
    assert.equal(await page.isEnabled('#redo'), true);
    await page.click('#redo');
    assert.equal(await page.isEnabled('#redo'), false);
    await shot(t, page, 'desktop-1-mask');

    await page.click('#start');
    await page.waitForSelector('body[data-mode=running]');
    const jobId = (await page.getAttribute('#job-panel', 'data-job-id'))!;
    // At least two live previews drawn on the stage while the job runs.
    await page.waitForFunction(() => Number(document.querySelector('#photo')!.getAttribute('data-previews')) >= 2, null, { timeout: 240_000 });
    await shot(t, page, 'desktop-2-live');
    await page.waitForSelector('body[data-mode=done]', { timeout: 240_000 });
    assert.ok((await previews(page)) >= 2);
    assert.equal(await page.getAttribute('#job-panel', 'data-status'), 'COMPLETED');
    await shot(t, page, 'desktop-3-done');

    // Before/after: the original covers the left part, as far as the slider says.
    assert.equal(await page.isVisible('#before'), true);
    await page.locator('#compare').fill('20');
    assert.equal(await page.evaluate(() => document.querySelector<HTMLImageElement>('#before')!.style.clipPath), 'inset(0px 80% 0px 0px)');

    // The download is the job's result: same bytes as the gateway's blob.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    assert.equal(download.suggestedFilename(), 't009-filled.png');
    const bytes = readFileSync((await download.path())!);
    const meta = await sharp(bytes).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 448, 320]);
    assert.ok(bytes.length > 10_000, `${bytes.length} bytes`);
    const res = await fetch(`${up.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: `{ job(id: "${jobId}") { result { url } } }` }) });
    const { data } = (await res.json()) as { data: { job: { result: { url: string } } } };
    const blob = Buffer.from(await (await fetch(`${up.url}${data.job.result.url}`)).arrayBuffer());
    assert.ok(blob.equals(bytes), 'downloaded bytes are the result blob');

    // My jobs lists it with a thumbnail.
    await page.click('#jobs-button');
    const row = page.locator(`.job-row[data-job-id="${jobId}"][data-status=COMPLETED]`);
    await row.waitFor();
    await page.waitForFunction((id) => (document.querySelector(`.job-row[data-job-id="${id}"] img`) as HTMLImageElement | null)?.naturalWidth === 448, jobId);
    await shot(t, page, 'desktop-4-my-jobs');
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test('a network drop: the page reconnects and picks up the live state', { timeout: 300_000 }, async (t) => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const states: string[] = [];
  await page.exposeFunction('recordState', (s: string) => void states.push(s));
  try {
    await openPhoto(page, proxy.url);
    await page.evaluate(() => {
      new MutationObserver(() => void (window as unknown as { recordState(s: string): void }).recordState(document.querySelector('#conn')!.getAttribute('data-state')!)).observe(document.querySelector('#conn')!, { attributes: true });
    });
    await paintTheMan(page);
    // More iterations per level: the job outlives the drop.
    await page.click('#options summary');
    await page.fill('#opt-iterations', '40');
    await page.click('#start');
    await page.waitForFunction(() => Number(document.querySelector('#photo')!.getAttribute('data-previews')) >= 1, null, { timeout: 240_000 });
    const before = await page.textContent('#progress-text');

    proxy.drop();
    await page.waitForSelector('#conn[data-state=reconnecting]', { timeout: 30_000 });
    await shot(t, page, 'reconnect-1-dropped');
    await new Promise((r) => setTimeout(r, 1_500));
    proxy.restore();
    await page.waitForSelector('#conn[data-state=online]', { timeout: 60_000 });
    await page.waitForSelector('body[data-mode=done]', { timeout: 240_000 });
    await shot(t, page, 'reconnect-2-done');
    assert.ok(states.includes('reconnecting') && states.lastIndexOf('online') > states.indexOf('reconnecting'), states.join(' → '));
    assert.equal(await page.getAttribute('#job-panel', 'data-status'), 'COMPLETED', `progress before the drop: ${before}`);
    assert.ok(proxy.connections >= 3, 'the page opened new connections after the drop');
  } finally {
    await page.close();
  }
});

test('phone-sized screen (390×844): everything fits and works by touch-sized controls', { timeout: 300_000 }, async (t) => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  const errors = watchErrors(page);
  try {
    await page.goto(`${up.url}/`);
    await shot(t, page, 'phone-1-empty');
    await openPhoto(page, up.url);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no sideways scrolling (overflow ${overflow}px)`);
    const frame = (await page.locator('#frame').boundingBox())!;
    assert.ok(frame.x >= 0 && frame.x + frame.width <= 390 && frame.width >= 300, `the photo fills the width: ${JSON.stringify(frame)}`);
    for (const id of ['#start', '#undo', '[data-tool=erase]']) {
      const b = (await page.locator(id).boundingBox())!;
      assert.ok(b.x >= 0 && b.x + b.width <= 390 && b.height >= 40, `${id} is on screen and finger-sized: ${JSON.stringify(b)}`);
    }
    await page.tap('[data-tool=erase]');
    assert.equal(await page.getAttribute('[data-tool=erase]', 'aria-pressed'), 'true');
    await page.tap('[data-tool=mask]');
    await paintTheMan(page);
    await shot(t, page, 'phone-2-mask');
    await page.tap('#start');
    await page.waitForSelector('body[data-mode=done]', { timeout: 240_000 });
    await page.locator('#download').scrollIntoViewIfNeeded();
    await shot(t, page, 'phone-3-done');
    const download = (await page.locator('#download').boundingBox())!;
    assert.ok(download.x >= 0 && download.x + download.width <= 390);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
