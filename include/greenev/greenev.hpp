// greenev/greenev.hpp — everything.
#pragma once
#include <greenev/channel.hpp>
#include <greenev/errors.hpp>
#include <greenev/event.hpp>
#include <greenev/fiber.hpp>
#include <greenev/fiber_local.hpp>
#include <greenev/hub.hpp>
#include <greenev/io.hpp>
#include <greenev/lock.hpp>
#include <greenev/patches.hpp>
#include <greenev/pool.hpp>
#include <greenev/queue.hpp>
#include <greenev/signal.hpp>
#include <greenev/this_fiber.hpp>
#include <greenev/threadpool.hpp>
#include <greenev/timeout.hpp>
#include <greenev/wait.hpp>
