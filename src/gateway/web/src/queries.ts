// The GraphQL operations the page sends (schema.graphql) and the job shape they return.

export interface ImageData {
  id: string;
  url: string;
  width: number;
  height: number;
  contentType: string;
}

export type JobStatus = 'QUEUED' | 'RUNNING' | 'PAUSED' | 'COMPLETED' | 'FAILED' | 'CANCELED';

export const TERMINAL: readonly JobStatus[] = ['COMPLETED', 'FAILED', 'CANCELED'];

export interface Job {
  id: string;
  status: JobStatus;
  progress: number;
  level: number | null;
  levels: number | null;
  iteration: number | null;
  createdAt: string;
  updatedAt: string;
  version: number;
  image: ImageData;
  preview: ImageData | null;
  result: ImageData | null;
  error: { code: string; message: string } | null;
  stats: { kernelCpuMs: number; kernelCalls: number };
}

const IMAGE = 'id url width height contentType';
const FIELDS = `fragment JobFields on InpaintJob {
  id status progress level levels iteration createdAt updatedAt version
  image { ${IMAGE} } preview { ${IMAGE} } result { ${IMAGE} }
  error { code message } stats { kernelCpuMs kernelCalls }
}`;

export const CREATE_JOB = `mutation ($input: CreateInpaintJobInput!) { createInpaintJob(input: $input) { ...JobFields } } ${FIELDS}`;
export const JOB_UPDATES = `subscription ($id: ID!) { jobUpdates(id: $id) { ...JobFields } } ${FIELDS}`;
export const JOBS = `query ($first: Int) { jobs(first: $first) { nodes { ...JobFields } } } ${FIELDS}`;

export type Control = 'cancelJob' | 'pauseJob' | 'resumeJob' | 'acceptJob';
export const control = (name: Control): string => `mutation ($id: ID!) { ${name}(id: $id) { ...JobFields } } ${FIELDS}`;

export interface JobOptions {
  patchSize: number;
  seed: number;
  maxIterations: number;
  distance: 'CIE76' | 'CIE2000';
}
