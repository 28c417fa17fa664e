// Option value parsers shared by commands: they reject bad values with commander's
// InvalidArgumentError, which the dispatcher turns into exit code 2.
import { InvalidArgumentError } from 'commander';

export function parseInteger(value: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`"${value}" is not an integer.`);
  return Number(value);
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
