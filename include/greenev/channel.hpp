// greenev/channel.hpp — Channel<T>: an unbuffered, rendezvous queue (gevent.queue.Channel, Go's
// make(chan T)).
//
// put() completes only when a getter takes the item: it hands the item to a waiting getter, or
// waits ("queue_put") until one comes and takes it straight from the putter's stack. get() takes
// from the first waiting putter or waits ("queue_get"). try_put() succeeds only when a getter is
// already waiting, try_get() only when a putter is. Same hand-off guarantees, FIFO order and
// close() rules as Queue (queue.hpp): after close(), put() throws ChannelClosed, get() throws
// ChannelClosed (there is never a buffer to drain), blocked putters and getters wake with
// ChannelClosed, try_put() returns false and try_get() nullopt.
// Rejected: a one-slot buffer (put would return before anybody had the item).
#pragma once
#include <greenev/queue.hpp>

namespace greenev {

template <class T>
class Channel : public BasicQueue<T, detail::RingStore<T>> {
 public:
  Channel() : BasicQueue<T, detail::RingStore<T>>(0) {}
};

}  // namespace greenev
