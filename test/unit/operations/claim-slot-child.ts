/**
 * A process that claims a slot of the folder in argv[2] when its parent says "go" on stdin, prints the
 * slot's number, and holds it (stays alive) until its stdin closes: for the test of simultaneous claims.
 */
import { claimSlot } from '../../../operations/instance.ts';

const folder = process.argv[2];
process.stdout.write('ready\n');
process.stdin.once('data', () => {
  claimSlot(folder).then(
    (slot) => process.stdout.write(`slot ${slot.n}\n`),
    (error: Error) => {
      process.stdout.write(`error ${error.message}\n`);
      process.exitCode = 1;
    },
  );
});
process.stdin.resume();
