import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { UsageError } from './exit.js';
import { hiddenNegation, rewriteGoBooleans } from './go-flags.js';

function runLike(): Command {
  return new Command()
    .option('-d, --detach')
    .option('-i, --interactive')
    .option('-t, --tty')
    .option('--rm')
    .option('-e, --env <KEY=value>')
    .option('--sig-proxy', 'proxy', true)
    .addOption(hiddenNegation('--sig-proxy'))
    .option('--no-stdin')
    .argument('<image>')
    .argument('[command...]')
    .passThroughOptions();
}

test('docker\'s boolean forms become commander\'s', () => {
  const command = runLike();
  assert.deepEqual(rewriteGoBooleans(command, ['--rm=true', '--detach=false', '--sig-proxy=false', 'busybox']), ['--rm', '--no-sig-proxy', 'busybox']);
  assert.deepEqual(rewriteGoBooleans(command, ['-d=1', '--sig-proxy=True', '--no-stdin=true', 'busybox']), ['-d', '--sig-proxy', '--no-stdin', 'busybox']);
  assert.deepEqual(rewriteGoBooleans(command, ['--no-stdin=false', 'busybox']), ['busybox']);
});

test('a boolean never takes the next word, and the container\'s command is left alone', () => {
  const command = runLike();
  const argv = ['--sig-proxy', '-e', 'A=--rm=false', '-it', 'busybox', 'sh', '--rm=false', '-d=true'];
  assert.deepEqual(rewriteGoBooleans(command, argv), argv);
  command.parse(rewriteGoBooleans(command, ['--sig-proxy', 'busybox', 'true']), { from: 'user' });
  assert.deepEqual(command.processedArgs, ['busybox', ['true']]);
  assert.equal(command.opts()['sigProxy'], true);
});

test('a value ParseBool refuses is refused in its words', () => {
  assert.throws(() => rewriteGoBooleans(runLike(), ['--rm=yes', 'busybox']), (err: unknown) => err instanceof UsageError && err.message === 'invalid argument "yes" for "--rm" flag: strconv.ParseBool: parsing "yes": invalid syntax');
});
