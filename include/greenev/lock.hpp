// greenev/lock.hpp — the fiber locks in one include (gevent.lock): Semaphore, BoundedSemaphore,
// Mutex, RecursiveMutex, Condition. Each also has its own header.
#pragma once
#include <greenev/condition.hpp>
#include <greenev/mutex.hpp>
#include <greenev/semaphore.hpp>
