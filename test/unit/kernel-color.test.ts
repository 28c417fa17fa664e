import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ciede2000, labToRgb, rgbToLab } from '../../src/kernel/index.ts';

test('sRGB -> Lab -> sRGB returns every 8-bit colour of a dense grid exactly', () => {
  const lab = new Float32Array(3);
  const rgb = new Uint8Array(3);
  for (let r = 0; r < 256; r += 3) {
    for (let g = 0; g < 256; g += 5) {
      for (let b = 0; b < 256; b += 7) {
        rgbToLab(r, g, b, lab, 0);
        labToRgb(lab[0], lab[1], lab[2], rgb, 0);
        assert.deepEqual([...rgb], [r, g, b], `round trip of ${r},${g},${b}`);
      }
    }
  }
});

test('Lab of reference colours', () => {
  const lab = new Float32Array(3);
  rgbToLab(255, 255, 255, lab, 0);
  assert.ok(Math.abs(lab[0] - 100) < 0.01 && Math.abs(lab[1]) < 0.01 && Math.abs(lab[2]) < 0.01, `white ${lab}`);
  rgbToLab(0, 0, 0, lab, 0);
  assert.ok(Math.abs(lab[0]) < 0.01, `black ${lab}`);
  rgbToLab(255, 0, 0, lab, 0);
  assert.ok(Math.abs(lab[0] - 53.24) < 0.05 && Math.abs(lab[1] - 80.09) < 0.05 && Math.abs(lab[2] - 67.2) < 0.05, `red ${lab}`);
});

test('CIEDE2000 matches Sharma, Wu and Dalal test pairs', () => {
  const pairs: [number[], number[], number][] = [
    [[50, 2.6772, -79.7751], [50, 0, -82.7485], 2.0425],
    [[50, 3.1571, -77.2803], [50, 0, -82.7485], 2.8615],
    [[50, -1.3802, -84.2814], [50, 0, -82.7485], 1.0],
    [[50, 2.5, 0], [73, 25, -18], 27.1492],
    [[22.7233, 20.0904, -46.694], [23.0331, 14.973, -42.5619], 2.0373],
    [[2.0776, 0.0795, -1.135], [0.9033, -0.0636, -0.5514], 0.9082],
  ];
  for (const [a, b, expected] of pairs) {
    const d = ciede2000(a[0], a[1], a[2], b[0], b[1], b[2]);
    assert.ok(Math.abs(d - expected) < 1e-4, `ΔE00(${a}, ${b}) = ${d}, expected ${expected}`);
  }
});
