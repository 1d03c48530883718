import { expect } from 'chai';
import { RedisCommandError } from 'rivulet/redis';
import { MemoryRedis, MemoryRedisReplyError } from 'rivulet/testing';

describe('MemoryRedis (rivulet/testing)', () => {
  it('runs a pipeline in order and answers one [error, result] per command, as ioredis does', async () => {
    const redis = new MemoryRedis();
    const result = await redis
      .pipeline()
      .set('a', 'x')
      .incrby('n', 2)
      .incrby('n', 3)
      .hset('h', 'f', 1)
      .hset('h', 'f', 2)
      .zadd('z', 2, 'two')
      .zadd('z', 1, 'one')
      .zadd('z', 1, 'one')
      .del('a', 'missing')
      .exec();
    expect(result).to.deep.equal([
      [null, 'OK'],
      [null, 2],
      [null, 5],
      [null, 1],
      [null, 0],
      [null, 1],
      [null, 1],
      [null, 0],
      [null, 1],
    ]);
    expect(await redis.get('a')).to.equal(null);
    expect(await redis.get('n')).to.equal('5');
    expect(await redis.hgetall('h')).to.deep.equal({ f: '2' });
    expect(await redis.dbsize()).to.equal(3);
  });

  it('reads sorted-set ranges as Redis does: by score then member, negative indexes from the end', async () => {
    const redis = new MemoryRedis();
    await redis.pipeline().zadd('z', 3, 'c').zadd('z', 1, 'b').zadd('z', 1, 'a').zadd('z', 2, 'd').exec();
    expect(await redis.zrange('z', 0, -1)).to.deep.equal(['a', 'b', 'd', 'c']);
    expect(await redis.zrevrange('z', 0, 1)).to.deep.equal(['c', 'd']);
    expect(await redis.zrange('z', -2, 10)).to.deep.equal(['d', 'c']);
    expect(await redis.zrange('z', 3, 1)).to.deep.equal([]);
    expect(await redis.zcard('z')).to.equal(4);
    await redis.pipeline().zrem('z', 'a').zrem('z', 'b').zrem('z', 'c').zrem('z', 'd').exec();
    expect(await redis.dbsize()).to.equal(0);
  });

  it("refuses a command on a key of another type with Redis's WRONGTYPE, which toRedis does not retry", async () => {
    const redis = new MemoryRedis();
    const [, [error, value]] = (await redis.pipeline().set('k', 'v').zadd('k', 1, 'm').exec())!;
    expect(value).to.equal(null);
    expect(error).to.be.instanceOf(MemoryRedisReplyError);
    expect(error).to.include({
      name: 'ReplyError',
      message: 'WRONGTYPE Operation against a key holding the wrong kind of value',
    });
    expect(new RedisCommandError(1, error)).to.include({ retriable: false, command: 'zadd' });
    let rejected: unknown;
    await redis.hgetall('k').catch((reason: unknown) => (rejected = reason));
    expect(rejected).to.be.instanceOf(MemoryRedisReplyError);
  });
});
