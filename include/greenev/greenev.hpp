// greenev/greenev.hpp — everything.
#pragma once
#include <greenev/errors.hpp>
#include <greenev/fiber.hpp>
#include <greenev/fiber_local.hpp>
#include <greenev/hub.hpp>
#include <greenev/signal.hpp>
#include <greenev/this_fiber.hpp>
#include <greenev/timeout.hpp>
