// The Patchwork web page: open a photo, paint what to remove, watch the fill converge live,
// compare before and after, download. Served by the gateway at `/`; talks to it over GraphQL
// (HTTP and graphql-ws) like any client. State lives here; the parts (editor, slider, jobs list,
// API) know nothing of each other.
import { Api, ApiError, type ConnectionState } from './api.ts';
import { CompareSlider } from './compare.ts';
import { byId, show } from './dom.ts';
import { MaskEditor, type Tool } from './editor.ts';
import { JobsPanel } from './jobs-panel.ts';
import { CREATE_JOB, JOB_UPDATES, TERMINAL, control, type Control, type Job, type JobOptions } from './queries.ts';

type Mode = 'empty' | 'editing' | 'running' | 'done' | 'ended';

interface Photo {
  blob: Blob;
  url: string;
  width: number;
  height: number;
  name: string;
}

interface Following {
  id: string;
  version: number;
  previewId: string | null;
  /** The newest preview not shown yet, and whether one is downloading now. */
  pendingPreview: string | null;
  loadingPreview: boolean;
  /** The job ended: the result (or nothing) replaces the previews. */
  done: boolean;
  stop: () => void;
  job: Job | null;
}

const api = new Api();
const el = {
  body: document.body,
  conn: byId('conn'),
  connText: byId('conn-text'),
  dropzone: byId('dropzone'),
  fileInput: byId<HTMLInputElement>('file-input'),
  stage: byId('stage'),
  frame: byId('frame'),
  photo: byId<HTMLImageElement>('photo'),
  overlay: byId<HTMLCanvasElement>('overlay'),
  before: byId<HTMLImageElement>('before'),
  handle: byId('compare-handle'),
  compare: byId<HTMLInputElement>('compare'),
  cursor: byId('brush-cursor'),
  badge: byId('stage-badge'),
  editPanel: byId('edit-panel'),
  jobPanel: byId('job-panel'),
  brush: byId<HTMLInputElement>('brush-size'),
  brushValue: byId<HTMLOutputElement>('brush-size-value'),
  undo: byId<HTMLButtonElement>('undo'),
  redo: byId<HTMLButtonElement>('redo'),
  clear: byId<HTMLButtonElement>('clear'),
  start: byId<HTMLButtonElement>('start'),
  newPhoto: byId<HTMLButtonElement>('new-photo'),
  jobTitle: byId('job-title'),
  progressBar: byId('progress-bar'),
  progressText: byId('progress-text'),
  jobControls: byId('job-controls'),
  pause: byId<HTMLButtonElement>('pause'),
  accept: byId<HTMLButtonElement>('accept'),
  cancel: byId<HTMLButtonElement>('cancel'),
  doneControls: byId('done-controls'),
  download: byId<HTMLAnchorElement>('download'),
  touchUp: byId<HTMLButtonElement>('touch-up'),
  startOver: byId<HTMLButtonElement>('start-over'),
  jobError: byId('job-error'),
  jobsButton: byId<HTMLButtonElement>('jobs-button'),
  jobsClose: byId<HTMLButtonElement>('jobs-close'),
  tokenButton: byId<HTMLButtonElement>('token-button'),
  tokenDialog: byId<HTMLDialogElement>('token-dialog'),
  tokenInput: byId<HTMLInputElement>('token-input'),
  toast: byId('toast'),
  optPatch: byId<HTMLSelectElement>('opt-patch-size'),
  optIterations: byId<HTMLInputElement>('opt-iterations'),
  optSeed: byId<HTMLInputElement>('opt-seed'),
  optDistance: byId<HTMLSelectElement>('opt-distance'),
};

const editor = new MaskEditor(el.overlay, el.cursor);
const slider = new CompareSlider(el.frame, el.before, el.handle, el.compare);
const jobsPanel = new JobsPanel(api, byId('jobs-drawer'), byId('jobs-list'));

let photo: Photo | null = null;
let beforeUrl: string | null = null;
let following: Following | null = null;
let previewCount = 0;

// ---------------------------------------------------------------- small things

let toastTimer = 0;
function toast(message: string, kind: 'info' | 'error' = 'info'): void {
  el.toast.textContent = message;
  el.toast.dataset.kind = kind;
  el.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => (el.toast.hidden = true), 5_000);
}

function describe(e: unknown): string {
  if (e instanceof ApiError) return e.reason && e.reason !== e.code ? `${e.message} (${e.reason})` : e.message;
  return e instanceof Error ? e.message : String(e);
}

function setMode(mode: Mode): void {
  el.body.dataset.mode = mode;
  show(el.dropzone, mode === 'empty');
  show(el.stage, mode !== 'empty');
  show(el.editPanel, mode === 'editing');
  show(el.jobPanel, mode === 'running' || mode === 'done' || mode === 'ended');
  show(el.overlay, mode === 'editing');
  editor.enabled = mode === 'editing';
  if (mode !== 'done') slider.close();
  updateEditButtons();
  fitStage();
}

function updateEditButtons(): void {
  el.undo.disabled = !editor.canUndo;
  el.redo.disabled = !editor.canRedo;
  el.start.disabled = !editor.maybePainted;
}

/**
 * Sizes the picture to the space there is: as large as fits, small photos enlarged up to 2x so
 * they are easy to paint on. Explicit sizes keep the overlay's pixels exactly on the photo's.
 */
function fitStage(): void {
  const w = Number(el.frame.dataset.width);
  const h = Number(el.frame.dataset.height);
  if (!w || !h || el.stage.hidden) return;
  const phone = window.matchMedia('(max-width: 820px)').matches;
  const availW = el.stage.clientWidth;
  const availH = phone ? window.innerHeight * 0.56 : window.innerHeight - el.frame.getBoundingClientRect().top - 70;
  const scale = Math.min(2, availW / w, Math.max(160, availH) / h);
  el.frame.style.width = `${Math.floor(w * scale)}px`;
  el.frame.style.height = `${Math.floor(h * scale)}px`;
}

function setSize(width: number, height: number): void {
  el.frame.dataset.width = String(width);
  el.frame.dataset.height = String(height);
  fitStage();
}

function setConnection(state: ConnectionState): void {
  el.conn.dataset.state = state;
  el.connText.textContent = state === 'online' ? 'Connected' : state === 'connecting' ? 'Connecting…' : 'Reconnecting…';
}

// ---------------------------------------------------------------- opening a photo

function decodeSize(url: string): Promise<{ width: number; height: number }> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve({ width: img.naturalWidth, height: img.naturalHeight });
    img.onerror = () => reject(new Error('this file is not an image the browser can open'));
    img.src = url;
  });
}

async function openPhoto(blob: Blob, name: string): Promise<void> {
  if (blob.type && !blob.type.startsWith('image/')) {
    toast(`${name} is not an image.`, 'error');
    return;
  }
  const url = URL.createObjectURL(blob);
  let size;
  try {
    size = await decodeSize(url);
  } catch (e) {
    URL.revokeObjectURL(url);
    toast(describe(e), 'error');
    return;
  }
  detach();
  if (photo && photo.url !== beforeUrl) URL.revokeObjectURL(photo.url);
  photo = { blob, url, name: name.replace(/\.[^.]+$/, '') || 'photo', ...size };
  beforeUrl = url;
  el.photo.src = url;
  el.photo.dataset.previews = '0';
  previewCount = 0;
  editor.load(size.width, size.height);
  el.badge.hidden = true;
  setMode('editing');
  setSize(size.width, size.height);
}

function pickFile(files: FileList | null | undefined): void {
  const file = files?.[0];
  if (file) void openPhoto(file, file.name);
}

// ---------------------------------------------------------------- starting a job

function readOptions(): JobOptions {
  const int = (v: string, def: number, min: number, max: number): number => {
    const n = Number.parseInt(v, 10);
    return Number.isFinite(n) ? Math.max(min, Math.min(max, n)) : def;
  };
  return {
    patchSize: int(el.optPatch.value, 9, 3, 31),
    maxIterations: int(el.optIterations.value, 10, 1, 100),
    seed: int(el.optSeed.value, 1, 0, 2 ** 31 - 1),
    distance: el.optDistance.value === 'CIE2000' ? 'CIE2000' : 'CIE76',
  };
}

/** The photo as the gateway should get it: the file itself, or a PNG of what the browser shows. */
async function uploadPhoto(p: Photo): Promise<string> {
  const accepted = ['image/png', 'image/jpeg', 'image/webp'].includes(p.blob.type);
  if (accepted) {
    const up = await api.upload(p.blob);
    // Same pixels as the browser shows (EXIF rotation is applied on both sides)? Then use it.
    if (up.width === p.width && up.height === p.height) return up.id;
  }
  const canvas = document.createElement('canvas');
  canvas.width = p.width;
  canvas.height = p.height;
  canvas.getContext('2d')!.drawImage(el.photo, 0, 0, p.width, p.height);
  const png = await new Promise<Blob>((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('cannot encode the photo'))), 'image/png'));
  return (await api.upload(png)).id;
}

async function start(): Promise<void> {
  if (!photo) return;
  const current = photo;
  el.start.disabled = true;
  el.start.textContent = 'Uploading…';
  try {
    const mask = await editor.export('mask');
    if (!mask) {
      toast('Paint over what to remove first.');
      return;
    }
    const donor = await editor.export('donor');
    const [imageId, maskUp, donorUp] = await Promise.all([uploadPhoto(current), api.upload(mask), donor ? api.upload(donor) : Promise.resolve(null)]);
    const input = { imageId, maskId: maskUp.id, ...(donorUp ? { donorIds: [donorUp.id] } : {}), options: readOptions(), idempotencyKey: crypto.randomUUID() };
    const { createInpaintJob: job } = await api.gql<{ createInpaintJob: Job }>(CREATE_JOB, { input });
    follow(job, current.url);
  } catch (e) {
    toast(`Could not start: ${describe(e)}`, 'error');
  } finally {
    el.start.textContent = 'Remove';
    updateEditButtons();
  }
}

// ---------------------------------------------------------------- following a job

function detach(): void {
  following?.stop();
  following = null;
}

/** Follows a job live; `before` is the original picture's URL for the before/after slider. */
function follow(job: Job, before: string): void {
  detach();
  beforeUrl = before;
  el.photo.dataset.previews = '0';
  previewCount = 0;
  const f: Following = { id: job.id, version: -1, previewId: null, pendingPreview: null, loadingPreview: false, done: false, stop: () => {}, job: null };
  following = f;
  el.jobPanel.dataset.jobId = job.id;
  setSize(job.image.width, job.image.height);
  setMode('running');
  render(job);
  f.stop = api.subscribe<{ jobUpdates: Job }>(
    JOB_UPDATES,
    { id: job.id },
    {
      next: ({ jobUpdates }) => {
        if (following === f) render(jobUpdates);
      },
      error: (e) => {
        if (following !== f) return;
        el.jobError.textContent = `Lost this job's updates: ${describe(e)}`;
        el.jobError.hidden = false;
      },
      complete: () => {},
    },
  );
}

function levelText(job: Job): string {
  if (job.level === null || job.levels === null) return '';
  return `Level ${job.levels - job.level} of ${job.levels}${job.iteration !== null ? ` · iteration ${job.iteration}` : ''}`;
}

/**
 * Shows a preview on the stage. One download at a time: updates that arrive meanwhile replace
 * the pending one (the newest wins), so a burst of iterations never queues stale pictures.
 */
function showPreview(f: Following, url: string): void {
  f.pendingPreview = url;
  if (f.loadingPreview) return;
  f.loadingPreview = true;
  const next = (): void => {
    const u = f.pendingPreview;
    f.pendingPreview = null;
    if (!u || following !== f) {
      f.loadingPreview = false;
      return;
    }
    api.objectUrl(u).then(
      (objectUrl) => {
        if (following !== f || f.done) {
          f.loadingPreview = false;
          return;
        }
        el.photo.onload = () => {
          el.photo.onload = null;
          previewCount++;
          el.photo.dataset.previews = String(previewCount);
          next();
        };
        el.photo.src = objectUrl;
      },
      (e: unknown) => {
        toast(`Cannot load the preview: ${describe(e)}`, 'error');
        next();
      },
    );
  };
  next();
}

function render(job: Job): void {
  const f = following;
  if (!f || job.id !== f.id || job.version < f.version) return;
  f.version = job.version;
  f.job = job;
  el.jobPanel.dataset.status = job.status;
  el.jobError.hidden = true;
  const pct = Math.floor(job.progress * 100);
  el.progressBar.style.width = `${pct}%`;
  el.progressBar.parentElement!.setAttribute('aria-valuenow', String(pct));
  const running = !TERMINAL.includes(job.status);
  f.done = !running;
  show(el.jobControls, running);
  show(el.doneControls, job.status === 'COMPLETED');
  el.pause.textContent = job.status === 'PAUSED' ? 'Resume' : 'Pause';
  el.pause.disabled = job.status === 'QUEUED';
  el.accept.disabled = !job.preview;

  if (job.preview && job.preview.id !== f.previewId && running) {
    f.previewId = job.preview.id;
    showPreview(f, job.preview.url);
  }
  el.badge.hidden = !running;
  el.badge.textContent = job.status === 'PAUSED' ? 'Paused' : 'Live preview';

  switch (job.status) {
    case 'QUEUED':
      el.jobTitle.textContent = 'Queued';
      el.progressText.textContent = 'Starts as soon as there is room (you may have other jobs running).';
      break;
    case 'RUNNING':
      el.jobTitle.textContent = 'Filling…';
      el.progressText.textContent = `${levelText(job) || 'Starting'} · ${pct}%`;
      break;
    case 'PAUSED':
      el.jobTitle.textContent = 'Paused';
      el.progressText.textContent = `${levelText(job) || 'Not started'} · ${pct}%`;
      break;
    case 'COMPLETED':
      el.jobTitle.textContent = 'Done';
      el.progressText.textContent = `Filled in ${((Date.parse(job.updatedAt) - Date.parse(job.createdAt)) / 1000).toFixed(1)} s. Drag across the picture to compare.`;
      void finish(f, job);
      break;
    case 'FAILED':
      el.jobTitle.textContent = 'Failed';
      el.progressText.textContent = '';
      el.jobError.textContent = job.error ? `${job.error.message} (${job.error.code})` : 'The job failed.';
      el.jobError.hidden = false;
      setMode('ended');
      void jobsPanel.refresh();
      break;
    case 'CANCELED':
      el.jobTitle.textContent = 'Canceled';
      el.progressText.textContent = job.preview ? 'The last preview is shown.' : '';
      setMode('ended');
      void jobsPanel.refresh();
      break;
  }
}

async function finish(f: Following, job: Job): Promise<void> {
  if (!job.result) return;
  try {
    const [resultUrl, before] = await Promise.all([api.objectUrl(job.result.url), beforeUrl ? Promise.resolve(beforeUrl) : api.objectUrl(job.image.url)]);
    if (following !== f) return;
    el.photo.src = resultUrl;
    el.download.href = resultUrl;
    el.download.download = `${photo?.name ?? 'photo'}-filled.${job.result.contentType === 'image/jpeg' ? 'jpg' : job.result.contentType === 'image/webp' ? 'webp' : 'png'}`;
    setMode('done');
    slider.open(before);
    void jobsPanel.refresh();
  } catch (e) {
    toast(`Cannot load the result: ${describe(e)}`, 'error');
  }
}

async function sendControl(name: Control): Promise<void> {
  const f = following;
  if (!f) return;
  try {
    const data = await api.gql<Record<string, Job>>(control(name), { id: f.id });
    render(data[name]);
  } catch (e) {
    toast(describe(e), 'error');
  }
}

/** Opens a job from "My jobs". */
async function openJob(job: Job): Promise<void> {
  photo = null;
  try {
    const imageUrl = await api.objectUrl(job.image.url);
    el.photo.src = job.result ? await api.objectUrl(job.result.url) : job.preview ? await api.objectUrl(job.preview.url) : imageUrl;
    follow(job, imageUrl);
  } catch (e) {
    toast(describe(e), 'error');
  }
}

async function touchUp(): Promise<void> {
  const job = following?.job;
  if (!job?.result) return;
  const url = await api.objectUrl(job.result.url);
  const blob = await (await fetch(url)).blob();
  await openPhoto(blob, `${photo?.name ?? 'photo'}-filled`);
}

// ---------------------------------------------------------------- wiring

function setTool(tool: Tool): void {
  editor.tool = tool;
  for (const b of document.querySelectorAll<HTMLButtonElement>('[data-tool]')) b.setAttribute('aria-pressed', String(b.dataset.tool === tool));
}

function setBrush(size: number): void {
  const s = Math.max(Number(el.brush.min), Math.min(Number(el.brush.max), size));
  el.brush.value = String(s);
  el.brushValue.textContent = String(s);
  editor.brushSize = s;
}

function askToken(): void {
  el.tokenButton.hidden = false;
  el.tokenInput.value = api.token ?? '';
  if (!el.tokenDialog.open) el.tokenDialog.showModal();
}

editor.onChange = updateEditButtons;
api.onConnection = setConnection;
api.onUnauthorized = askToken;
jobsPanel.onOpen = (job) => void openJob(job);

el.fileInput.addEventListener('change', () => {
  pickFile(el.fileInput.files);
  el.fileInput.value = '';
});
for (const b of document.querySelectorAll<HTMLButtonElement>('[data-tool]')) b.addEventListener('click', () => setTool(b.dataset.tool as Tool));
el.brush.addEventListener('input', () => setBrush(Number(el.brush.value)));
el.undo.addEventListener('click', () => editor.undo());
el.redo.addEventListener('click', () => editor.redo());
el.clear.addEventListener('click', () => editor.clear());
el.start.addEventListener('click', () => void start());
el.newPhoto.addEventListener('click', () => el.fileInput.click());
el.startOver.addEventListener('click', () => {
  detach();
  setMode('empty');
});
el.touchUp.addEventListener('click', () => void touchUp());
el.pause.addEventListener('click', () => void sendControl(following?.job?.status === 'PAUSED' ? 'resumeJob' : 'pauseJob'));
el.accept.addEventListener('click', () => void sendControl('acceptJob'));
el.cancel.addEventListener('click', () => void sendControl('cancelJob'));
el.jobsButton.addEventListener('click', () => void (jobsPanel.isOpen ? jobsPanel.close() : jobsPanel.open()));
el.jobsClose.addEventListener('click', () => jobsPanel.close());
el.tokenButton.addEventListener('click', askToken);
el.tokenDialog.addEventListener('close', () => {
  if (el.tokenDialog.returnValue !== 'save') return;
  api.setToken(el.tokenInput.value.trim());
  // Re-follow with the new credentials (the socket was replaced).
  const job = following?.job;
  if (job && beforeUrl) follow(job, beforeUrl);
  void jobsPanel.refresh();
});

// Drag and drop anywhere on the page, and paste.
window.addEventListener('dragover', (e) => {
  e.preventDefault();
  el.body.classList.add('dragging');
});
window.addEventListener('dragleave', (e) => {
  if (e.relatedTarget === null) el.body.classList.remove('dragging');
});
window.addEventListener('drop', (e) => {
  e.preventDefault();
  el.body.classList.remove('dragging');
  pickFile(e.dataTransfer?.files);
});
window.addEventListener('paste', (e) => {
  const file = [...(e.clipboardData?.files ?? [])].find((f) => f.type.startsWith('image/'));
  if (file) void openPhoto(file, file.name || 'pasted');
});
window.addEventListener('resize', fitStage);
window.addEventListener('keydown', (e) => {
  if (el.body.dataset.mode !== 'editing' || (e.target as HTMLElement).closest('input, select, textarea')) return;
  const mod = e.ctrlKey || e.metaKey;
  if (mod && e.key.toLowerCase() === 'z') {
    e.preventDefault();
    if (e.shiftKey) editor.redo();
    else editor.undo();
  } else if (mod && e.key.toLowerCase() === 'y') {
    e.preventDefault();
    editor.redo();
  } else if (!mod && e.key === '[') setBrush(editor.brushSize - 4);
  else if (!mod && e.key === ']') setBrush(editor.brushSize + 4);
  else if (!mod && e.key === 'b') setTool('mask');
  else if (!mod && e.key === 'd') setTool('donor');
  else if (!mod && e.key === 'e') setTool('erase');
});

setTool('mask');
setBrush(Number(el.brush.value));
setMode('empty');
el.tokenButton.hidden = !api.token;
// One request at start: shows the token dialog at once when the server needs one.
api.gql('query { jobs(first: 1) { nodes { id } } }').then(
  () => setConnection('online'),
  (e: unknown) => {
    if (!(e instanceof ApiError && e.code === 'UNAUTHENTICATED')) setConnection('connecting');
  },
);
